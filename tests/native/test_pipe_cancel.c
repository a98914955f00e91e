/* Cancellation of one pending pipe read: it completes exactly once with IOCPH_E_CANCELED; a
 * second cancel, a cancel of a finished op, through the wrong handle or with a forged value is
 * IOCPH_E_NOTPENDING; cancel-all cancels every pending read and is 0 on an idle handle. */
#include "test_util.h"

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(2);
    iocph_handle_t r, w, r2, w2;
    CHECK_OK(iocph_pipe_create(port, 5, &r, &w));
    CHECK_OK(iocph_pipe_create(port, 6, &r2, &w2));
    char buf[16];

    iocph_op_t op = 0;
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 42, &op));
    CHECK(op != 0);
    test_expect_nothing(port, 50); /* it really waits */
    uint64_t t0 = test_now_ms();
    CHECK_STATUS(iocph_op_cancel(w, op), IOCPH_E_NOTPENDING);  /* not an op of w */
    CHECK_STATUS(iocph_op_cancel(r2, op), IOCPH_E_NOTPENDING); /* nor of r2 */
    CHECK_OK(iocph_op_cancel(r, op));
    iocph_completion c = test_dequeue_one(port, 5000);
    CHECK(test_now_ms() - t0 < 1000); /* promptly */
    CHECK_EQ(c.user_data, 42);
    CHECK_EQ(c.key, 5);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
    test_expect_nothing(port, 50); /* exactly once */
    CHECK_STATUS(iocph_op_cancel(r, op), IOCPH_E_NOTPENDING);

    /* Forged op values. */
    CHECK_STATUS(iocph_op_cancel(r, 0), IOCPH_E_NOTPENDING);
    CHECK_STATUS(iocph_op_cancel(r, op + 1), IOCPH_E_NOTPENDING);
    CHECK_STATUS(iocph_op_cancel(r, ~(uint64_t)0), IOCPH_E_NOTPENDING);
    CHECK_STATUS(iocph_op_cancel(r, op ^ ((uint64_t)1 << 40)), IOCPH_E_NOTPENDING);
    /* Bad handle values win over the op. */
    CHECK_STATUS(iocph_op_cancel(0, op), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_op_cancel(port, op), IOCPH_E_BADHANDLE);

    /* The pipe still works after a cancel. */
    CHECK_OK(iocph_pipe_write(w, "ok", 2, 43, NULL));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.result, 2);
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 44, &op));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 44);
    CHECK_EQ(c.result, 2);
    CHECK(memcmp(buf, "ok", 2) == 0);
    /* A completed op can't be cancelled. */
    CHECK_STATUS(iocph_op_cancel(r, op), IOCPH_E_NOTPENDING);

    /* Cancel-all: several reads pending on r, one on r2 that must survive. */
    CHECK_OK(iocph_handle_cancel_all(r)); /* idle: fine */
    char bufs[5][8];
    for (int i = 0; i < 5; i++)
        CHECK_OK(iocph_pipe_read(r, bufs[i], sizeof bufs[i], 100 + (uint64_t)i, NULL));
    CHECK_OK(iocph_pipe_read(r2, buf, sizeof buf, 200, NULL));
    test_expect_nothing(port, 30);
    CHECK_OK(iocph_handle_cancel_all(r));
    int seen[5] = {0};
    for (int i = 0; i < 5; i++) {
        c = test_dequeue_one(port, 5000);
        CHECK(c.user_data >= 100 && c.user_data < 105);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
        CHECK_EQ(seen[c.user_data - 100]++, 0);
    }
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_pipe_write(w2, "z", 1, 201, NULL));
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 5000);
        CHECK(c.user_data == 200 || c.user_data == 201);
        CHECK_EQ(c.result, 1);
    }

    /* Cancel of a write that completed at once: its real result, never two completions. */
    CHECK_OK(iocph_pipe_write(w, "q", 1, 300, &op));
    int32_t rc = iocph_op_cancel(w, op);
    CHECK(rc == IOCPH_OK || rc == IOCPH_E_NOTPENDING);
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 300);
    CHECK(c.result == 1 || c.result == IOCPH_E_CANCELED);
    test_expect_nothing(port, 30);

    /* Cancel racing with many reads: each completes exactly once. */
    iocph_op_t ops[50];
    char many[50][4];
    for (int i = 0; i < 50; i++)
        CHECK_OK(iocph_pipe_read(r2, many[i], sizeof many[i], 1000 + (uint64_t)i, &ops[i]));
    for (int i = 49; i >= 0; i -= 2)
        CHECK_OK(iocph_op_cancel(r2, ops[i]));
    CHECK_OK(iocph_handle_cancel_all(r2));
    int got[50] = {0};
    for (int i = 0; i < 50; i++) {
        c = test_dequeue_one(port, 5000);
        CHECK(c.user_data >= 1000 && c.user_data < 1050);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
        CHECK_EQ(got[c.user_data - 1000]++, 0);
    }
    test_expect_nothing(port, 50);

    /* A write far larger than the pipe holds, with nobody reading, waits; cancelled, it ends
     * once, either with IOCPH_E_CANCELED or with how much of it went out. A write queued behind
     * it is cancelled by cancel-all too. */
    {
        const uint32_t big_len = 8u << 20;
        uint8_t *big = calloc(1, big_len);
        CHECK(big != NULL);
        iocph_op_t wop;
        CHECK_OK(iocph_pipe_write(w, big, big_len, 400, &wop));
        CHECK_OK(iocph_pipe_write(w, "tail", 4, 401, NULL));
        test_expect_nothing(port, 50);
        CHECK_OK(iocph_op_cancel(w, wop));
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 400);
        CHECK(c.result == IOCPH_E_CANCELED || (c.result > 0 && c.result < (int64_t)big_len));
        CHECK_OK(iocph_handle_cancel_all(w));
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 401);
        /* It may have gone out before the cancel-all arrived, if the reader's buffer had room. */
        CHECK(c.result == IOCPH_E_CANCELED || c.result == 4);
        test_expect_nothing(port, 30);
        free(big);
    }

    CHECK_OK(iocph_handle_close(r));
    CHECK_OK(iocph_handle_close(w));
    CHECK_OK(iocph_handle_close(r2));
    CHECK_OK(iocph_handle_close(w2));
    /* Closed: every handle function refuses it. */
    CHECK_STATUS(iocph_handle_cancel_all(r), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_op_cancel(r, op), IOCPH_E_BADHANDLE);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
