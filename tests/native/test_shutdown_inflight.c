/* Shutdown with operations in flight: pending pipe reads (which would wait forever), file reads
 * and writes and posts all complete exactly once, through the callback, before shutdown
 * returns; statistics end at zero in flight. Then the same in pull mode, where shutdown waits
 * for the caller's threads to dequeue. */
#include "test_util.h"

#define PIPES 32
#define FILE_OPS 200
#define POSTS 500
#define TOTAL (PIPES + FILE_OPS + POSTS)

static _Atomic uint32_t seen[TOTAL];
static _Atomic uint64_t completions;
static _Atomic uint64_t bad;

static void count(const iocph_completion *c)
{
    if (c->user_data >= TOTAL) {
        atomic_fetch_add(&bad, 1);
        return;
    }
    atomic_fetch_add(&seen[c->user_data], 1);
    if (c->user_data < PIPES && c->result != IOCPH_E_CANCELED)
        atomic_fetch_add(&bad, 1);
    if (c->user_data >= PIPES && c->user_data < PIPES + FILE_OPS && c->result != 512 &&
        c->result != IOCPH_E_CANCELED && c->result != 0)
        atomic_fetch_add(&bad, 1);
    atomic_fetch_add(&completions, 1);
}

static void on_batch(void *context, const iocph_completion *entries, uint32_t n)
{
    (void)context;
    for (uint32_t i = 0; i < n; i++)
        count(&entries[i]);
}

static iocph_port_t pull_port;
static _Atomic int stop_dequeuers;

static void dequeuer(void *arg)
{
    (void)arg;
    iocph_completion c[16];
    while (!atomic_load(&stop_dequeuers)) {
        uint32_t n = 0;
        int32_t rc = iocph_port_dequeue(pull_port, c, 16, 20, &n);
        if (rc == IOCPH_E_SHUTDOWN)
            break;
        if (rc == IOCPH_OK)
            for (uint32_t i = 0; i < n; i++)
                count(&c[i]);
    }
}

static void start_everything(iocph_port_t port, const char *path, iocph_handle_t *f,
                             iocph_handle_t *rs, iocph_handle_t *ws, uint8_t (*bufs)[512])
{
    CHECK_OK(iocph_file_open(port, path,
                             IOCPH_FILE_READ | IOCPH_FILE_WRITE | IOCPH_FILE_CREATE, 1, f));
    for (uint64_t i = 0; i < PIPES; i++) {
        CHECK_OK(iocph_pipe_create(port, 2, &rs[i], &ws[i]));
        CHECK_OK(iocph_pipe_read(rs[i], bufs[i], 512, i, NULL));
    }
    for (uint64_t i = PIPES; i < PIPES + FILE_OPS; i++) {
        if (i % 2)
            CHECK_OK(iocph_file_write(*f, bufs[i], 512, i * 512, i, NULL));
        else
            CHECK_OK(iocph_file_read(*f, bufs[i], 512, i * 512, i, NULL));
    }
    for (uint64_t i = PIPES + FILE_OPS; i < TOTAL; i++)
        CHECK_OK(iocph_port_post(port, 3, i, 1));
}

static void check_exactly_once(void)
{
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&completions), TOTAL);
    for (uint32_t i = 0; i < TOTAL; i++)
        if (atomic_load(&seen[i]) != 1)
            test_fail(__FILE__, __LINE__, "op %u completed %u times", i, atomic_load(&seen[i]));
}

static void reset(void)
{
    for (uint32_t i = 0; i < TOTAL; i++)
        atomic_store(&seen[i], 0);
    atomic_store(&completions, 0);
}

int main(void)
{
    test_watchdog(90);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "shutfl");
    test_path(path, sizeof path, dir, "f.bin");
    static uint8_t bufs[TOTAL][512];
    iocph_handle_t f, rs[PIPES], ws[PIPES];

    /* Push mode. */
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 2;
    iocph_port_t port;
    test_create_port(&o, &port);
    start_everything(port, path, &f, rs, ws, bufs);
    uint64_t t0 = test_now_ms();
    CHECK_OK(iocph_port_shutdown(port, 20000));
    CHECK(test_now_ms() - t0 < 5000);
    check_exactly_once(); /* all of them, before shutdown returned */
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_EQ(s.ops_started, TOTAL);
    CHECK_EQ(s.completions_delivered, TOTAL);
    CHECK_EQ(s.handles_open, 1 + 2 * PIPES);
    test_sleep_ms(30);
    CHECK_EQ(atomic_load(&completions), TOTAL); /* and nothing after */
    CHECK_OK(iocph_handle_close(f));
    for (int i = 0; i < PIPES; i++) {
        CHECK_OK(iocph_handle_close(rs[i]));
        CHECK_OK(iocph_handle_close(ws[i]));
    }
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));

    /* Pull mode, two of the caller's threads dequeuing. */
    reset();
    pull_port = test_port_pull(2);
    start_everything(pull_port, path, &f, rs, ws, bufs);
    test_thread d[2];
    test_thread_start(&d[0], dequeuer, NULL);
    test_thread_start(&d[1], dequeuer, NULL);
    CHECK_OK(iocph_port_shutdown(pull_port, 20000));
    /* Shutdown returns once every completion was dequeued, but a dequeuer may still be counting
     * its last batch: count after they stopped (they see IOCPH_E_SHUTDOWN and return). */
    test_thread_join(&d[0]);
    test_thread_join(&d[1]);
    check_exactly_once();
    /* Handles left open are closed by destroy. */
    CHECK_OK(iocph_port_destroy(pull_port));

    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
