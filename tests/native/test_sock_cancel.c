/* Cancellation and timeouts of socket operations: accept, connect and receive cancelled with
 * iocph_op_cancel and by their timeout; a close with a receive pending completes it exactly
 * once with IOCPH_E_CANCELED; a cancelled socket keeps working. */
#include "test_util.h"

/* Connects to a listener whose backlog is full and never accepted: the SYN is dropped and the
 * connect waits. Where the OS refuses such a connect at once (Windows answers a full backlog
 * with a reset), it returns 0 and the caller skips that part. */
static iocph_handle_t pending_connect(iocph_port_t port, const iocph_endpoint *target,
                                      uint32_t timeout_ms, uint64_t user_data, iocph_op_t *op,
                                      iocph_handle_t *fillers, int *filler_count)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        iocph_handle_t s = 0;
        CHECK_OK(iocph_tcp_connect(port, target, NULL, 0, timeout_ms, user_data, &s, op));
        iocph_completion c;
        uint32_t n = 0;
        int32_t rc = iocph_port_dequeue(port, &c, 1, 150, &n);
        if (rc == IOCPH_E_TIMEOUT)
            return s; /* still waiting: what the caller wants */
        CHECK_OK(rc);
        CHECK_EQ(c.user_data, user_data);
        if (c.result != 0) {
            CHECK_OK(iocph_handle_close(s));
            return 0;
        }
        fillers[(*filler_count)++] = s; /* it took a backlog slot: keep it, try again */
    }
    return 0;
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(2);
    iocph_completion c;
    char buf[32];

    /* Accept: cancelled by request, then by timeout; then a real one still works. */
    {
        iocph_endpoint bound;
        iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
        iocph_accept_result ar;
        memset(&ar, 0, sizeof ar);
        iocph_op_t op = 0;
        CHECK_OK(iocph_tcp_accept(listener, 1, &ar, 0, 10, &op));
        CHECK(op != 0);
        test_expect_nothing(port, 50);
        CHECK_OK(iocph_op_cancel(listener, op));
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 10);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
        CHECK_EQ(ar.socket, 0); /* a cancelled accept leaves no socket */
        CHECK_STATUS(iocph_op_cancel(listener, op), IOCPH_E_NOTPENDING);

        uint64_t t0 = test_now_ms();
        CHECK_OK(iocph_tcp_accept(listener, 1, &ar, 100, 11, NULL));
        c = test_dequeue_one(port, 5000);
        uint64_t elapsed = test_now_ms() - t0;
        CHECK_EQ(c.user_data, 11);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_TIMEOUT);
        CHECK(elapsed >= 90 && elapsed < 3000);
        CHECK_EQ(ar.socket, 0);

        /* A timeout that does not fire: the accept completes normally. */
        CHECK_OK(iocph_tcp_accept(listener, 1, &ar, 5000, 12, NULL));
        iocph_handle_t client = 0;
        CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 0, 5000, 13, &client, NULL));
        for (int i = 0; i < 2; i++) {
            c = test_dequeue_one(port, 5000);
            CHECK(c.user_data == 12 || c.user_data == 13);
            CHECK_EQ(c.result, 0);
        }
        CHECK(ar.socket != 0);

        /* Receive: cancelled by request, then by a 100 ms timeout; the socket still works. */
        CHECK_OK(iocph_socket_receive(ar.socket, buf, sizeof buf, 0, 20, &op));
        test_expect_nothing(port, 50);
        CHECK_OK(iocph_op_cancel(ar.socket, op));
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 20);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);

        t0 = test_now_ms();
        CHECK_OK(iocph_socket_receive(ar.socket, buf, sizeof buf, 100, 21, NULL));
        c = test_dequeue_one(port, 5000);
        elapsed = test_now_ms() - t0;
        CHECK_EQ(c.user_data, 21);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_TIMEOUT);
        CHECK(elapsed >= 90 && elapsed < 3000);

        CHECK_OK(iocph_socket_send(client, "hello", 5, 1000, 22, NULL));
        CHECK_OK(iocph_socket_receive(ar.socket, buf, sizeof buf, 1000, 23, NULL));
        for (int i = 0; i < 2; i++) {
            c = test_dequeue_one(port, 5000);
            CHECK(c.user_data == 22 || c.user_data == 23);
            CHECK_EQ(c.result, 5);
        }
        CHECK(memcmp(buf, "hello", 5) == 0);

        /* Close with a receive pending (and one queued behind it): each completes exactly once,
         * cancelled. */
        char buf2[8];
        CHECK_OK(iocph_socket_receive(ar.socket, buf, sizeof buf, 0, 24, NULL));
        CHECK_OK(iocph_socket_receive(ar.socket, buf2, sizeof buf2, 60000, 25, NULL));
        test_expect_nothing(port, 50);
        CHECK_OK(iocph_handle_close(ar.socket));
        int seen = 0;
        for (int i = 0; i < 2; i++) {
            c = test_dequeue_one(port, 5000);
            CHECK(c.user_data == 24 || c.user_data == 25);
            CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
            seen |= c.user_data == 24 ? 1 : 2;
        }
        CHECK_EQ(seen, 3);
        test_expect_nothing(port, 100);

        /* Close of a listener with accepts pending: each ends once, cancelled. */
        CHECK_OK(iocph_tcp_accept(listener, 1, &ar, 0, 26, NULL));
        iocph_accept_result ar2;
        CHECK_OK(iocph_tcp_accept(listener, 1, &ar2, 0, 27, NULL));
        test_expect_nothing(port, 30);
        CHECK_OK(iocph_handle_close(listener));
        for (int i = 0; i < 2; i++) {
            c = test_dequeue_one(port, 5000);
            CHECK(c.user_data == 26 || c.user_data == 27);
            CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
        }
        test_expect_nothing(port, 50);
        CHECK_OK(iocph_handle_close(client));
    }

    /* Connect: cancelled by request and by timeout, against a full backlog. */
    {
        iocph_endpoint bound;
        iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 1, &bound);
        iocph_handle_t fillers[40];
        int filler_count = 0;
        iocph_op_t op = 0;
        iocph_handle_t s = pending_connect(port, &bound, 0, 30, &op, fillers, &filler_count);
        if (s) {
            CHECK_OK(iocph_op_cancel(s, op));
            c = test_dequeue_one(port, 5000);
            CHECK_EQ(c.user_data, 30);
            CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
            CHECK_OK(iocph_handle_close(s));

            uint64_t t0 = test_now_ms();
            CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 0, 200, 31, &s, NULL));
            c = test_dequeue_one(port, 5000);
            uint64_t elapsed = test_now_ms() - t0;
            CHECK_EQ(c.user_data, 31);
            CHECK_STATUS((int32_t)c.result, IOCPH_E_TIMEOUT);
            CHECK(elapsed >= 180 && elapsed < 3000);
            CHECK_OK(iocph_handle_close(s));
        } else {
            printf("note: this OS refuses connects to a full backlog; connect cancel not run\n");
        }
        for (int i = 0; i < filler_count; i++)
            CHECK_OK(iocph_handle_close(fillers[i]));
        CHECK_OK(iocph_handle_close(listener));
    }

    test_expect_nothing(port, 50);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
