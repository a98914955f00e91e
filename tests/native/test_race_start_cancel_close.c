/* Races: threads start pipe reads and writes, cancel them, cancel everything and close handles,
 * all at once, while others post. Whatever interleaving happens, every started operation
 * completes exactly once, nothing completes that was refused, and the port ends idle. */
#include "test_util.h"

#define THREADS 4
#define ROUNDS 300
#define PER_ROUND 4 /* ops started per round and thread */
#define MAX_OPS (THREADS * ROUNDS * (PER_ROUND + 1))

static iocph_port_t port;
static _Atomic uint32_t completed[MAX_OPS];
static _Atomic uint32_t started[MAX_OPS];
static _Atomic uint64_t total_completed;
static _Atomic uint64_t total_started;
static _Atomic uint64_t bad;

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t id = entries[i].user_data;
        if (id >= MAX_OPS) {
            atomic_fetch_add(&bad, 1);
            continue;
        }
        int64_t r = entries[i].result;
        /* Reads: data, EOF or cancelled; writes: done, cancelled or broken pipe; posts: id. */
        if (r < 0 && r != IOCPH_E_CANCELED && r != IOCPH_E_BROKEN_PIPE)
            atomic_fetch_add(&bad, 1);
        atomic_fetch_add(&completed[id], 1);
        atomic_fetch_add(&total_completed, 1);
    }
}

static void note_started(uint64_t id, int32_t rc)
{
    if (rc == IOCPH_OK) {
        atomic_fetch_add(&started[id], 1);
        atomic_fetch_add(&total_started, 1);
    } else if (rc != IOCPH_E_BADHANDLE) { /* closed by this thread just before: fine */
        atomic_fetch_add(&bad, 1);
    }
}

static void worker(void *arg)
{
    uint64_t t = (uint64_t)(uintptr_t)arg;
    /* One buffer per read, never reused: a read of an earlier round may still be writing into
     * its buffer (it owns it until its completion is delivered, which nothing here waits for). */
    static char sink[MAX_OPS][16];
    for (uint64_t round = 0; round < ROUNDS; round++) {
        uint64_t base = (t * ROUNDS + round) * (PER_ROUND + 1);
        iocph_handle_t r, w;
        if (iocph_pipe_create(port, t, &r, &w) != IOCPH_OK) {
            atomic_fetch_add(&bad, 1);
            return;
        }
        iocph_op_t ops[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++) {
            ops[i] = 0;
            int32_t rc = (i % 2 == 0)
                             ? iocph_pipe_read(r, sink[base + i], sizeof sink[base + i], base + i, &ops[i])
                             : iocph_pipe_write(w, "data", 4, base + i, &ops[i]);
            note_started(base + (uint64_t)i, rc);
        }
        note_started(base + PER_ROUND, iocph_port_post(port, 9, base + PER_ROUND, 0));
        switch (round % 4) {
        case 0:
            iocph_op_cancel(r, ops[0]);
            iocph_op_cancel(r, ops[2]);
            break;
        case 1:
            iocph_handle_cancel_all(r);
            iocph_handle_cancel_all(w);
            break;
        case 2:
            iocph_op_cancel(w, ops[1]);
            break;
        default:
            break; /* close with everything pending */
        }
        if (round % 2) {
            iocph_handle_close(w);
            iocph_handle_close(r);
        } else {
            iocph_handle_close(r);
            iocph_handle_close(w);
        }
    }
}

int main(void)
{
    test_watchdog(100);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 3;
    test_create_port(&o, &port);
    test_thread t[THREADS];
    for (int i = 0; i < THREADS; i++)
        test_thread_start(&t[i], worker, (void *)(uintptr_t)i);
    for (int i = 0; i < THREADS; i++)
        test_thread_join(&t[i]);
    test_check_started_completed(&total_started, &total_completed, &bad, started, completed,
                                 MAX_OPS);
    uint64_t n = atomic_load(&total_started);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    printf("%llu operations, each completed exactly once\n", (unsigned long long)n);
    return 0;
}
