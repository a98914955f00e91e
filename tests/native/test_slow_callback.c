/* A slow callback: the first batches sleep 200 ms each (the header says a callback must not block
 * for long; a user's will anyway) while pipe reads complete and other threads post and write.
 * Nothing is lost or delivered twice, the reads of each pipe are filled in the order they were
 * started (the bytes they hold, concatenated in start order, are the stream as written) and, with
 * one worker, delivered in that order too; nothing deadlocks; the statistics end at zero. Queue
 * depth 8, so that on io_uring the completions that pile up behind the sleeping callback
 * overflow the completion queue. */
#include "test_util.h"

#define PIPES 8
#define READS 256 /* per pipe */
#define CHUNK 16  /* bytes per read and per write */
#define POSTS 4000
#define SLOW_BATCHES 4
#define SLOW_MS 200
#define READ_IDS (PIPES * READS)       /* ids: reads, then writes, then posts, then EARLY */
#define POST_BASE (READ_IDS + PIPES * READS)
#define EARLY (POST_BASE + POSTS)
#define TOTAL (EARLY + 1)

static _Atomic uint32_t seen[TOTAL];
static int64_t result_of[READ_IDS];
static _Atomic uint64_t completions;
static _Atomic uint64_t bad;
static _Atomic uint32_t slow_left;
static _Atomic int64_t last_read_seq[PIPES]; /* one worker: delivery order per pipe */
static int check_delivery_order;
static uint8_t read_buf[READ_IDS][CHUNK];
static uint8_t stream[PIPES][READS * CHUNK];
static iocph_port_t port;
static iocph_handle_t rs[PIPES], ws[PIPES];

static void on_batch(void *context, const iocph_completion *entries, uint32_t n)
{
    (void)context;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t id = entries[i].user_data;
        if (id >= TOTAL) {
            atomic_fetch_add(&bad, 1);
            continue;
        }
        if (id < READ_IDS) {
            result_of[id] = entries[i].result;
            if (entries[i].result <= 0)
                atomic_fetch_add(&bad, 1);
            int64_t pipe = (int64_t)(id / READS), seq = (int64_t)(id % READS);
            int64_t prev = atomic_exchange(&last_read_seq[pipe], seq);
            if (check_delivery_order && prev >= seq)
                atomic_fetch_add(&bad, 1);
        } else if (id < POST_BASE && entries[i].result != CHUNK) {
            atomic_fetch_add(&bad, 1);
        }
        atomic_fetch_add(&seen[id], 1);
    }
    atomic_fetch_add(&completions, n);
    /* Slow after counting, as user code that works on what it got. */
    uint32_t left = atomic_load(&slow_left);
    while (left > 0 && !atomic_compare_exchange_weak(&slow_left, &left, left - 1)) {
    }
    if (left > 0)
        test_sleep_ms(SLOW_MS);
}

static void poster(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < POSTS; i++)
        if (iocph_port_post(port, 9, POST_BASE + i, (int64_t)i) != IOCPH_OK)
            atomic_fetch_add(&bad, 1);
}

static void writer(void *arg)
{
    (void)arg;
    for (uint32_t k = 0; k < READS; k++)
        for (uint32_t p = 0; p < PIPES; p++)
            if (iocph_pipe_write(ws[p], &stream[p][k * CHUNK], CHUNK,
                                 READ_IDS + (uint64_t)p * READS + k, NULL) != IOCPH_OK)
                atomic_fetch_add(&bad, 1);
}

static void run(uint32_t workers)
{
    for (uint32_t i = 0; i < TOTAL; i++)
        atomic_store(&seen[i], 0);
    for (uint32_t p = 0; p < PIPES; p++)
        atomic_store(&last_read_seq[p], -1);
    atomic_store(&completions, 0);
    atomic_store(&slow_left, SLOW_BATCHES);
    check_delivery_order = workers == 1;
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = workers;
    o.queue_depth = 8;
    test_create_port(&o, &port);
    for (uint32_t p = 0; p < PIPES; p++) {
        CHECK_OK(iocph_pipe_create(port, p, &rs[p], &ws[p]));
        for (uint32_t k = 0; k < READS; k++)
            CHECK_OK(iocph_pipe_read(rs[p], read_buf[p * READS + k], CHUNK,
                                     (uint64_t)p * READS + k, NULL));
    }
    /* A post first, so that the callback is already asleep while the rest arrives. */
    CHECK_OK(iocph_port_post(port, 9, EARLY, 0));
    test_thread t[2];
    test_thread_start(&t[0], writer, NULL);
    test_thread_start(&t[1], poster, NULL);
    test_thread_join(&t[0]);
    test_thread_join(&t[1]);
    if (!test_wait_count(&completions, TOTAL, 30000))
        test_fail(__FILE__, __LINE__, "%llu of %u completions arrived",
                  (unsigned long long)atomic_load(&completions), TOTAL);
    test_sleep_ms(30);
    CHECK_EQ(atomic_load(&completions), TOTAL);
    CHECK_EQ(atomic_load(&bad), 0);
    for (uint32_t i = 0; i < TOTAL; i++) {
        if (atomic_load(&seen[i]) != 1)
            test_fail(__FILE__, __LINE__, "id %u delivered %u times", i, atomic_load(&seen[i]));
    }
    /* Reads filled in start order: their bytes, concatenated, are each pipe's stream. */
    for (uint32_t p = 0; p < PIPES; p++) {
        uint32_t at = 0;
        for (uint32_t k = 0; k < READS; k++) {
            int64_t r = result_of[p * READS + k];
            if (memcmp(read_buf[p * READS + k], &stream[p][at], (size_t)r) != 0)
                test_fail(__FILE__, __LINE__, "pipe %u read %u holds bytes out of order", p, k);
            at += (uint32_t)r;
        }
        CHECK(at <= READS * CHUNK);
    }
    for (uint32_t p = 0; p < PIPES; p++) {
        CHECK_OK(iocph_handle_close(rs[p]));
        CHECK_OK(iocph_handle_close(ws[p]));
    }
    test_check_stats_idle(port);
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_started, s.completions_delivered);
    CHECK_EQ(s.completions_delivered, TOTAL);
    CHECK_OK(iocph_port_destroy(port));
}

int main(void)
{
    test_watchdog(100);
    for (uint32_t p = 0; p < PIPES; p++)
        test_fill(stream[p], sizeof stream[p], p + 1);
    run(1);
    run(2);
    printf("%u completions per run behind %u callbacks of %u ms, none lost or repeated\n",
           TOTAL, SLOW_BATCHES, SLOW_MS);
    return 0;
}
