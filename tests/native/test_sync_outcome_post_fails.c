/* IOCP: an operation that finished synchronously (skip-on-success: no packet of its own) reaches
 * the user through a packet the backend posts. When that PostQueuedCompletionStatus fails (the
 * system short of memory), the bytes have moved all the same: the start call must still return
 * 0 and exactly one completion must carry the real result - never "refused, nothing happened".
 * A user post, where nothing happened yet, may still be refused.
 *
 * The failure is injected: IOCPH_TEST_FAIL_POSTS=n at port creation makes that port's first n
 * op-packet posts fail with ERROR_NO_SYSTEM_RESOURCES (native/src/win/iocp_outcome.c). Windows
 * only (io_uring has no such post). */
#include "test_util.h"

#ifdef _WIN32
static iocph_port_t port_failing_posts(const char *n)
{
    SetEnvironmentVariableA("IOCPH_TEST_FAIL_POSTS", n);
    _putenv_s("IOCPH_TEST_FAIL_POSTS", n);
    iocph_port_t port = test_port_pull(1);
    SetEnvironmentVariableA("IOCPH_TEST_FAIL_POSTS", NULL);
    _putenv_s("IOCPH_TEST_FAIL_POSTS", "");
    return port;
}
#endif

int main(void)
{
#ifndef _WIN32
    test_skip("IOCP only");
#else
    test_watchdog(60);

    /* A user post is refused while the injected failure lasts, and nothing is delivered. */
    {
        iocph_port_t port = port_failing_posts("1");
        CHECK(iocph_port_post(port, 1, 10, 42) < 0);
        test_expect_nothing(port, 50);
        CHECK_OK(iocph_port_post(port, 1, 11, 43));
        iocph_completion c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 11);
        CHECK_EQ(c.result, 43);
        CHECK_OK(iocph_port_destroy(port));
    }

    /* A pipe write that finishes at once (room in the pipe). */
    {
        iocph_port_t port = port_failing_posts("1");
        iocph_handle_t r, w;
        CHECK_OK(iocph_pipe_create(port, 5, &r, &w));
        CHECK_OK(iocph_pipe_write(w, "hello", 5, 20, NULL));
        iocph_completion c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 20);
        CHECK_EQ(c.result, 5);
        test_expect_nothing(port, 50);
        /* The injected failure was spent on the write: a post goes through now. */
        CHECK_OK(iocph_port_post(port, 1, 21, 0));
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 21);
        char buf[8];
        CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 22, NULL));
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 22);
        CHECK_EQ(c.result, 5);
        CHECK(memcmp(buf, "hello", 5) == 0);
        CHECK_OK(iocph_handle_close(r));
        CHECK_OK(iocph_handle_close(w));
        CHECK_OK(iocph_port_destroy(port));
    }

    /* A TCP send that finishes at once (room in the socket buffer). */
    {
        iocph_port_t port = port_failing_posts("1");
        iocph_handle_t client, server;
        test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
        CHECK_OK(iocph_socket_send(client, "abc", 3, 0, 30, NULL));
        iocph_completion c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 30);
        CHECK_EQ(c.result, 3);
        test_expect_nothing(port, 50);
        char buf[8];
        CHECK_OK(iocph_socket_receive(server, buf, sizeof buf, 0, 31, NULL));
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 31);
        CHECK_EQ(c.result, 3);
        CHECK(memcmp(buf, "abc", 3) == 0);
        CHECK_OK(iocph_handle_close(client));
        CHECK_OK(iocph_handle_close(server));
        CHECK_OK(iocph_port_destroy(port));
    }
    printf("ok\n");
    return 0;
#endif
}
