/* Close from one thread while others start operations on the same handles, thousands of times:
 * each round the main thread makes a pipe, lets three threads start reads and writes on both
 * ends, and closes the ends at a varying moment while they do. Every start answers IOCPH_OK or
 * IOCPH_E_BADHANDLE (closed under it), every operation that started completes exactly once
 * (data, end of pipe, cancelled or broken pipe), none that was refused ever completes, and the
 * port ends idle. test_race_start_cancel_close.c covers a thread closing its own handles. */
#include "test_util.h"

/* Under Wine a named-pipe pair costs tens of milliseconds to make and close (wineserver calls):
 * a thousand rounds there keeps the test within CTest's limit; three thousand elsewhere. */
#ifdef _WIN32
#define ROUNDS 1000
#else
#define ROUNDS 3000
#endif
#define THREADS 3
#define PER_THREAD 6 /* starts per round and thread, alternating read / write */
#define MAX_OPS (ROUNDS * THREADS * PER_THREAD)

static iocph_port_t port;
static _Atomic uint32_t started[MAX_OPS];
static _Atomic uint32_t completed[MAX_OPS];
static _Atomic uint64_t total_started, total_completed, refused, bad;
static _Atomic iocph_handle_t cur_r, cur_w;
static _Atomic uint32_t round_open;  /* round + 1 once its handles are published */
static _Atomic uint32_t starters_done;
static _Atomic uint32_t starters_arrived; /* starters that began the current round, all rounds */
static char sink[MAX_OPS][4]; /* one buffer per read, never reused */

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t id = entries[i].user_data;
        int64_t r = entries[i].result;
        if (id >= MAX_OPS || (r < 0 && r != IOCPH_E_CANCELED && r != IOCPH_E_BROKEN_PIPE)) {
            atomic_fetch_add(&bad, 1);
            continue;
        }
        atomic_fetch_add(&completed[id], 1);
        atomic_fetch_add(&total_completed, 1);
    }
}

static void starter(void *arg)
{
    uint64_t t = (uint64_t)(uintptr_t)arg;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        while (atomic_load(&round_open) != round + 1)
            test_sleep_ms(0);
        iocph_handle_t r = atomic_load(&cur_r), w = atomic_load(&cur_w);
        atomic_fetch_add(&starters_arrived, 1);
        for (uint64_t k = 0; k < PER_THREAD; k++) {
            uint64_t id = ((uint64_t)round * THREADS + t) * PER_THREAD + k;
            int32_t rc = (k % 2 == 0) ? iocph_pipe_read(r, sink[id], sizeof sink[id], id, NULL)
                                      : iocph_pipe_write(w, "ab", 2, id, NULL);
            if (rc == IOCPH_OK) {
                atomic_store(&started[id], 1);
                atomic_fetch_add(&total_started, 1);
            } else if (rc == IOCPH_E_BADHANDLE) {
                atomic_fetch_add(&refused, 1);
            } else {
                atomic_fetch_add(&bad, 1);
            }
        }
        atomic_fetch_add(&starters_done, 1);
    }
}

int main(void)
{
    test_watchdog(100);
    port = test_port_push(2, on_batch);
    test_thread t[THREADS];
    for (int i = 0; i < THREADS; i++)
        test_thread_start(&t[i], starter, (void *)(uintptr_t)i);
    uint32_t spin_seed = 12345;
    for (uint32_t round = 0; round < ROUNDS; round++) {
        iocph_handle_t r, w;
        CHECK_OK(iocph_pipe_create(port, 1, &r, &w));
        atomic_store(&cur_r, r);
        atomic_store(&cur_w, w);
        atomic_store(&round_open, round + 1);
        /* Close once a starter is at work, after a varying delay: among or after the starts
         * (a few rounds close before any: a starter can be slow to wake). */
        for (uint32_t spins = 0; atomic_load(&starters_arrived) <= round * THREADS; spins++)
            if (spins % 1024 == 1023)
                test_sleep_ms(0);
        spin_seed = spin_seed * 1103515245u + 12345u;
        for (volatile uint32_t spin = (spin_seed >> 16) % 3000; spin > 0; spin--) {
        }
        if (round % 2) {
            CHECK_OK(iocph_handle_close(w));
            CHECK_OK(iocph_handle_close(r));
        } else {
            CHECK_OK(iocph_handle_close(r));
            CHECK_OK(iocph_handle_close(w));
        }
        while (atomic_load(&starters_done) != (round + 1) * THREADS)
            test_sleep_ms(0);
    }
    for (int i = 0; i < THREADS; i++)
        test_thread_join(&t[i]);
    test_check_started_completed(&total_started, &total_completed, &bad, started, completed,
                                 MAX_OPS);
    uint64_t n = atomic_load(&total_started);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    printf("%d rounds: %llu operations started and completed once, %llu refused (closed)\n",
           ROUNDS, (unsigned long long)n, (unsigned long long)atomic_load(&refused));
    return 0;
}
