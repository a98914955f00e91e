/* Closing a handle with operations pending: each completes exactly once, with IOCPH_E_CANCELED
 * (a closed read end also ends the writer's pending write), the value is stale at once, and the
 * handle counts drop to zero. Also: closing many handles with reads pending, from a callback. */
#include "test_util.h"

static _Atomic uint64_t completions;
static _Atomic uint64_t canceled;
static _Atomic uint64_t bad;

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        if (entries[i].result == IOCPH_E_CANCELED)
            atomic_fetch_add(&canceled, 1);
        else
            atomic_fetch_add(&bad, 1);
    }
    atomic_fetch_add(&completions, count);
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);
    iocph_handle_t r, w;
    CHECK_OK(iocph_pipe_create(port, 3, &r, &w));
    char buf[3][8];
    for (int i = 0; i < 3; i++)
        CHECK_OK(iocph_pipe_read(r, buf[i], sizeof buf[i], 10 + (uint64_t)i, NULL));
    test_expect_nothing(port, 30);
    uint64_t t0 = test_now_ms();
    CHECK_OK(iocph_handle_close(r));
    CHECK_STATUS(iocph_handle_close(r), IOCPH_E_BADHANDLE); /* stale at once */
    CHECK_STATUS(iocph_pipe_read(r, buf[0], 8, 1, NULL), IOCPH_E_BADHANDLE);
    int seen[3] = {0};
    for (int i = 0; i < 3; i++) {
        iocph_completion c = test_dequeue_one(port, 5000);
        CHECK(c.user_data >= 10 && c.user_data < 13);
        CHECK_EQ(seen[c.user_data - 10]++, 0);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
        CHECK_EQ(c.key, 3);
    }
    CHECK(test_now_ms() - t0 < 1000);
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_handle_close(w));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));

    /* Push mode, two workers: 40 pipes with a read pending each, all closed from this thread. */
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 2;
    test_create_port(&o, &port);
    iocph_handle_t rs[40], ws[40];
    char bufs[40][4];
    for (int i = 0; i < 40; i++) {
        CHECK_OK(iocph_pipe_create(port, (uint64_t)i, &rs[i], &ws[i]));
        CHECK_OK(iocph_pipe_read(rs[i], bufs[i], 4, (uint64_t)i, NULL));
    }
    test_sleep_ms(20);
    CHECK_EQ(atomic_load(&completions), 0);
    /* Writers stay open until the reads completed: otherwise a read may legitimately end with
     * 0 (end of stream) before the close's cancellation reaches it. */
    for (int i = 0; i < 40; i++)
        CHECK_OK(iocph_handle_close(rs[i]));
    CHECK(test_wait_count(&completions, 40, 5000));
    for (int i = 0; i < 40; i++)
        CHECK_OK(iocph_handle_close(ws[i]));
    test_sleep_ms(30);
    CHECK_EQ(atomic_load(&completions), 40);
    CHECK_EQ(atomic_load(&canceled), 40);
    CHECK_EQ(atomic_load(&bad), 0);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
