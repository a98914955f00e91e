/* TCP failures with their portable codes: connect to a port that was just closed is refused;
 * a peer that resets (SO_LINGER 0, then close) fails a pending receive with CONNECTION_RESET;
 * a send after iocph_socket_shutdown_send fails; a half-close lets the peer read 0 while the
 * other direction keeps working. */
#include "test_util.h"

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(2);
    char buf[64];
    iocph_completion c;

    /* Connection refused: listen, note the port, close, connect. */
    {
        iocph_endpoint bound;
        iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
        CHECK_OK(iocph_handle_close(listener));
        iocph_handle_t s = 0;
        CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 3, 0, 30, &s, NULL));
        CHECK(s != 0);
        c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, 30);
        CHECK_EQ(c.key, 3);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_CONNECTION_REFUSED);
        CHECK(c.os_error != 0);
        /* The failed socket is still the caller's to close. */
        CHECK_OK(iocph_handle_close(s));
    }

    /* Peer reset during a receive. */
    {
        iocph_handle_t client, server;
        test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
        CHECK_OK(iocph_socket_receive(client, buf, sizeof buf, 0, 40, NULL));
        test_expect_nothing(port, 50); /* it really waits */
        CHECK_OK(iocph_socket_set_option(server, IOCPH_SOCKOPT_LINGER, 0));
        CHECK_OK(iocph_handle_close(server));
        c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, 40);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_CONNECTION_RESET);
        /* Sending on a reset connection fails too (reset or broken pipe, as the OS says). */
        CHECK_OK(iocph_socket_send(client, "x", 1, 0, 41, NULL));
        c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, 41);
        CHECK(c.result == IOCPH_E_CONNECTION_RESET || c.result == IOCPH_E_BROKEN_PIPE ||
              c.result == IOCPH_E_CONNECTION_ABORTED);
        CHECK_OK(iocph_handle_close(client));
    }

    /* Half-close and send after shutdown. */
    {
        iocph_handle_t client, server;
        test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
        CHECK_OK(iocph_socket_send(client, "last", 4, 0, 50, NULL));
        c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.result, 4);
        CHECK_OK(iocph_socket_shutdown_send(client));
        /* The peer gets what was sent, then 0. */
        size_t got = 0;
        for (;;) {
            CHECK_OK(iocph_socket_receive(server, buf + got, (uint32_t)(sizeof buf - got), 0, 51,
                                          NULL));
            c = test_dequeue_one(port, 10000);
            CHECK_EQ(c.user_data, 51);
            CHECK(c.result >= 0);
            if (c.result == 0)
                break;
            got += (size_t)c.result;
        }
        CHECK_EQ(got, 4);
        CHECK(memcmp(buf, "last", 4) == 0);
        /* Sending after the shutdown fails, synchronously or at completion. */
        int32_t rc = iocph_socket_send(client, "more", 4, 0, 52, NULL);
        if (rc == IOCPH_OK) {
            c = test_dequeue_one(port, 10000);
            CHECK_EQ(c.user_data, 52);
            CHECK_STATUS((int32_t)c.result, IOCPH_E_BROKEN_PIPE);
        } else {
            CHECK_STATUS(rc, IOCPH_E_BROKEN_PIPE);
        }
        /* The other direction still works after the half-close. */
        CHECK_OK(iocph_socket_send(server, "back", 4, 0, 53, NULL));
        CHECK_OK(iocph_socket_receive(client, buf, sizeof buf, 0, 54, NULL));
        int seen = 0;
        for (int i = 0; i < 2; i++) {
            c = test_dequeue_one(port, 10000);
            CHECK_EQ(c.result, 4);
            seen |= c.user_data == 53 ? 1 : c.user_data == 54 ? 2 : 4;
        }
        CHECK_EQ(seen, 3);
        CHECK(memcmp(buf, "back", 4) == 0);
        /* A second shutdown is harmless or reports not-connected, never a crash. */
        rc = iocph_socket_shutdown_send(client);
        CHECK(rc == IOCPH_OK || rc == IOCPH_E_NOT_CONNECTED);
        CHECK_OK(iocph_handle_close(client));
        CHECK_OK(iocph_handle_close(server));
    }

    /* Address in use: a second listener on the same port without reuse. */
    {
        iocph_endpoint bound;
        iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
        iocph_handle_t second = 0;
        CHECK_STATUS(iocph_tcp_listen(port, &bound, 0, 0, 0, &second), IOCPH_E_ADDRESS_IN_USE);
        CHECK_EQ(second, 0);
        CHECK_OK(iocph_handle_close(listener));
    }

    /* A local address that is not ours. */
    {
        iocph_endpoint ep = test_loopback(IOCPH_AF_INET, 0);
        ep.address[0] = 192;
        ep.address[1] = 0;
        ep.address[2] = 2; /* TEST-NET-1: never a local address */
        ep.address[3] = 1;
        iocph_handle_t l = 0;
        CHECK_STATUS(iocph_tcp_listen(port, &ep, 0, 0, 0, &l), IOCPH_E_ADDRESS_NOT_AVAILABLE);
    }

    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
