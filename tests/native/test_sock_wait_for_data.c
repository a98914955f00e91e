/* A zero-length receive waits for data without taking any (what Kestrel's transport does before it
 * rents a buffer): it stays pending while nothing comes, completes with 0 when bytes arrive (which
 * the next receive then gets, all of them), when they were already there, and at the end of the
 * stream; a reset peer, a cancel, a timeout and a close end it with their error, exactly once. */
#include "test_util.h"

#include <string.h>

enum { UD_WAIT = 1, UD_RECV = 2, UD_SEND = 3 };

/* The data a wait saw is still there for the receive that follows it. */
static void receive_exactly(iocph_port_t port, iocph_handle_t socket, const char *expected)
{
    char buf[64];
    size_t want = strlen(expected), got = 0;
    while (got < want) {
        CHECK_OK(iocph_socket_receive(socket, buf + got, (uint32_t)(sizeof buf - got), 10000,
                                      UD_RECV, NULL));
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, UD_RECV);
        CHECK(c.result > 0);
        got += (size_t)c.result;
    }
    CHECK_EQ(got, want);
    CHECK(memcmp(buf, expected, want) == 0);
}

static void send_now(iocph_port_t port, iocph_handle_t socket, const char *text)
{
    CHECK_OK(iocph_socket_send(socket, text, (uint32_t)strlen(text), 0, UD_SEND, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, UD_SEND);
    CHECK_EQ(c.result, (int64_t)strlen(text));
}

/* Sends while a wait is pending: the two completions may come in either order. Returns the
 * wait's. */
static iocph_completion send_during_wait(iocph_port_t port, iocph_handle_t socket,
                                         const char *text)
{
    CHECK_OK(iocph_socket_send(socket, text, (uint32_t)strlen(text), 0, UD_SEND, NULL));
    iocph_completion two[2];
    test_dequeue_n(port, two, 2, 10000);
    int wait_first = two[0].user_data == UD_WAIT;
    CHECK_EQ(two[wait_first ? 1 : 0].user_data, UD_SEND);
    CHECK_EQ(two[wait_first ? 1 : 0].result, (int64_t)strlen(text));
    CHECK_EQ(two[wait_first ? 0 : 1].user_data, UD_WAIT);
    return two[wait_first ? 0 : 1];
}

static iocph_completion wait_result(iocph_port_t port)
{
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, UD_WAIT);
    return c;
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);
    iocph_handle_t client, server;
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);

    /* Pending while idle; data arrives: 0, and the receive after it gets the bytes. The buffer
     * pointer is ignored (NULL is fine). */
    CHECK_OK(iocph_socket_receive(server, NULL, 0, 0, UD_WAIT, NULL));
    test_expect_nothing(port, 200);
    CHECK_EQ(send_during_wait(port, client, "abc").result, 0);
    receive_exactly(port, server, "abc");

    /* Data already there: the wait completes at once and leaves the bytes alone; a second wait
     * still sees them. Both directions (the connecting side waits too). */
    send_now(port, server, "hello");
    test_sleep_ms(50);
    char ignored;
    CHECK_OK(iocph_socket_receive(client, &ignored, 0, 0, UD_WAIT, NULL));
    CHECK_EQ(wait_result(port).result, 0);
    CHECK_OK(iocph_socket_receive(client, NULL, 0, 0, UD_WAIT, NULL));
    CHECK_EQ(wait_result(port).result, 0);
    receive_exactly(port, client, "hello");

    /* A wait and a receive started behind it complete in order: the wait with 0, the receive
     * with the data. */
    char buf[16];
    CHECK_OK(iocph_socket_receive(server, NULL, 0, 0, UD_WAIT, NULL));
    CHECK_OK(iocph_socket_receive(server, buf, sizeof buf, 0, UD_RECV, NULL));
    test_expect_nothing(port, 100);
    CHECK_OK(iocph_socket_send(client, "xy", 2, 0, UD_SEND, NULL));
    iocph_completion three[3];
    test_dequeue_n(port, three, 3, 10000);
    int64_t wait_at = -1, receive_at = -1, sent = 0;
    for (int i = 0; i < 3; i++) {
        if (three[i].user_data == UD_WAIT) {
            wait_at = i;
            CHECK_EQ(three[i].result, 0);
        } else if (three[i].user_data == UD_RECV) {
            receive_at = i;
            CHECK_EQ(three[i].result, 2);
        } else {
            CHECK_EQ(three[i].user_data, UD_SEND);
            sent = three[i].result;
        }
    }
    CHECK_EQ(sent, 2);
    CHECK(wait_at >= 0 && receive_at > wait_at);
    CHECK(memcmp(buf, "xy", 2) == 0);

    /* Cancel and timeout, as for any receive. */
    iocph_op_t op;
    CHECK_OK(iocph_socket_receive(server, NULL, 0, 0, UD_WAIT, &op));
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_op_cancel(server, op));
    CHECK_EQ(wait_result(port).result, IOCPH_E_CANCELED);
    CHECK_OK(iocph_socket_receive(server, NULL, 0, 100, UD_WAIT, NULL));
    CHECK_EQ(wait_result(port).result, IOCPH_E_TIMEOUT);

    /* The peer closes in order: the wait completes with 0 and the next receive says end (0). */
    CHECK_OK(iocph_socket_receive(server, NULL, 0, 0, UD_WAIT, NULL));
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_socket_shutdown_send(client));
    CHECK_EQ(wait_result(port).result, 0);
    CHECK_OK(iocph_socket_receive(server, buf, sizeof buf, 10000, UD_RECV, NULL));
    CHECK_EQ(test_dequeue_one(port, 10000).result, 0);
    CHECK_OK(iocph_handle_close(client));
    CHECK_OK(iocph_handle_close(server));

    /* The peer resets (linger 0): the wait ends with the reset, not with 0. */
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
    CHECK_OK(iocph_socket_receive(server, NULL, 0, 0, UD_WAIT, NULL));
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_LINGER, 0));
    CHECK_OK(iocph_handle_close(client));
    iocph_completion reset = wait_result(port);
    if (reset.result != IOCPH_E_CONNECTION_RESET && reset.result != IOCPH_E_CONNECTION_ABORTED)
        test_fail(__FILE__, __LINE__, "a wait on a reset connection: %lld",
                  (long long)reset.result);

    /* Closing the handle ends a pending wait once. */
    CHECK_OK(iocph_handle_close(server));
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
    CHECK_OK(iocph_socket_receive(server, NULL, 0, 0, UD_WAIT, NULL));
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_handle_close(server));
    CHECK(wait_result(port).result < 0);
    test_expect_nothing(port, 100);
    CHECK_OK(iocph_handle_close(client));

    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
