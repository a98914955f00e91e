/* Endpoints and options: what a listener, a client and an accepted socket say about their
 * local and remote endpoints agrees; each option set reads back; TCP options on UDP are
 * unsupported; an unconnected socket has no remote endpoint. */
#include "test_util.h"

static int same_endpoint(const iocph_endpoint *a, const iocph_endpoint *b)
{
    return a->family == b->family && a->port == b->port && a->scope_id == b->scope_id &&
           memcmp(a->address, b->address, 16) == 0;
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);
    iocph_completion c;

    /* With reuse-address, so that the port can be listened on again below while the accepted
     * connection (which inherits the option) is still open. */
    iocph_endpoint bound = test_loopback(IOCPH_AF_INET, 0);
    iocph_handle_t listener = 0;
    CHECK_OK(iocph_tcp_listen(port, &bound, 0, IOCPH_SOCKET_REUSE_ADDRESS, 7, &listener));
    CHECK_OK(iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &bound));
    iocph_endpoint lo = test_loopback(IOCPH_AF_INET, bound.port);
    CHECK(same_endpoint(&bound, &lo));
    iocph_endpoint ep;
    CHECK_STATUS(iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_REMOTE, &ep),
                 IOCPH_E_NOT_CONNECTED);

    iocph_accept_result ar;
    memset(&ar, 0, sizeof ar);
    CHECK_OK(iocph_tcp_accept(listener, 77, &ar, 0, 1, NULL));
    iocph_handle_t client;
    CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 88, 0, 2, &client, NULL));
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.result, 0);
        CHECK_EQ(c.key, c.user_data == 1 ? 7 : 88); /* accepts complete under the listener's */
    }
    iocph_endpoint cl, cr, sl, sr;
    CHECK_OK(iocph_socket_get_endpoint(client, IOCPH_ENDPOINT_LOCAL, &cl));
    CHECK_OK(iocph_socket_get_endpoint(client, IOCPH_ENDPOINT_REMOTE, &cr));
    CHECK_OK(iocph_socket_get_endpoint(ar.socket, IOCPH_ENDPOINT_LOCAL, &sl));
    CHECK_OK(iocph_socket_get_endpoint(ar.socket, IOCPH_ENDPOINT_REMOTE, &sr));
    CHECK(same_endpoint(&cr, &bound));
    CHECK(same_endpoint(&sl, &bound));
    CHECK(same_endpoint(&sr, &cl));
    CHECK(same_endpoint(&ar.remote, &cl)); /* what the accept reported */
    CHECK(cl.port != 0 && cl.port != bound.port);

    /* The accepted socket completes under the key given to iocph_tcp_accept. */
    CHECK_OK(iocph_socket_send(client, "k", 1, 0, 3, NULL));
    char b;
    CHECK_OK(iocph_socket_receive(ar.socket, &b, 1, 0, 4, NULL));
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.result, 1);
        CHECK_EQ(c.key, c.user_data == 4 ? 77 : 88);
    }

    /* Options. */
    int32_t v = -5;
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_NO_DELAY, 1));
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_NO_DELAY, &v));
    CHECK_EQ(v, 1);
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_NO_DELAY, 0));
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_NO_DELAY, &v));
    CHECK_EQ(v, 0);
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_KEEP_ALIVE, 1));
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_KEEP_ALIVE, &v));
    CHECK_EQ(v, 1);
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_SEND_BUFFER, 65536));
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_SEND_BUFFER, &v));
    CHECK(v >= 65536); /* Linux doubles it */
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_RECEIVE_BUFFER, 32768));
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_RECEIVE_BUFFER, &v));
    CHECK(v >= 32768);
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_LINGER, &v));
    CHECK_EQ(v, -1); /* off by default */
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_LINGER, 5));
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_LINGER, &v));
    CHECK_EQ(v, 5);
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_LINGER, -1));
    CHECK_OK(iocph_socket_get_option(client, IOCPH_SOCKOPT_LINGER, &v));
    CHECK_EQ(v, -1);
    CHECK_OK(iocph_socket_set_option(listener, IOCPH_SOCKOPT_REUSE_ADDRESS, 1));
    CHECK_OK(iocph_socket_get_option(listener, IOCPH_SOCKOPT_REUSE_ADDRESS, &v));
    CHECK_EQ(v, 1);
    /* Values out of range and unknown options are refused before the OS sees them. */
    CHECK_STATUS(iocph_socket_set_option(client, IOCPH_SOCKOPT_NO_DELAY, 2),
                 IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_set_option(client, IOCPH_SOCKOPT_LINGER, -2),
                 IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_set_option(client, IOCPH_SOCKOPT_LINGER, 65536),
                 IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_set_option(client, IOCPH_SOCKOPT_SEND_BUFFER, -1),
                 IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_set_option(client, 0, 1), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_set_option(client, 7, 1), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_get_option(client, 99, &v), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_get_option(client, IOCPH_SOCKOPT_NO_DELAY, NULL),
                 IOCPH_E_INVALID_ARGUMENT);

    /* UDP: endpoints, and TCP options are unsupported. */
    iocph_endpoint any = test_loopback(IOCPH_AF_INET, 0);
    iocph_handle_t u;
    CHECK_OK(iocph_udp_bind(port, &any, IOCPH_SOCKET_REUSE_ADDRESS, 0, &u));
    CHECK_OK(iocph_socket_get_endpoint(u, IOCPH_ENDPOINT_LOCAL, &ep));
    CHECK(ep.port != 0);
    CHECK_STATUS(iocph_socket_get_endpoint(u, IOCPH_ENDPOINT_REMOTE, &ep), IOCPH_E_NOT_CONNECTED);
    CHECK_STATUS(iocph_socket_set_option(u, IOCPH_SOCKOPT_NO_DELAY, 1), IOCPH_E_UNSUPPORTED);
    CHECK_STATUS(iocph_socket_get_option(u, IOCPH_SOCKOPT_NO_DELAY, &v), IOCPH_E_UNSUPPORTED);
    CHECK_OK(iocph_socket_get_option(u, IOCPH_SOCKOPT_REUSE_ADDRESS, &v));
    CHECK_EQ(v, 1);
    CHECK_OK(iocph_socket_set_option(u, IOCPH_SOCKOPT_RECEIVE_BUFFER, 100000));

    /* Reuse-address lets a new listener take the port of one with a connection still open. */
    CHECK_OK(iocph_handle_close(listener));
    iocph_handle_t again = 0;
    CHECK_OK(iocph_tcp_listen(port, &bound, 0, IOCPH_SOCKET_REUSE_ADDRESS, 0, &again));
    CHECK_OK(iocph_socket_get_endpoint(again, IOCPH_ENDPOINT_LOCAL, &ep));
    CHECK(same_endpoint(&ep, &bound));
    CHECK_OK(iocph_handle_close(again));

    /* Dual mode IPv6 listener (only where IPv6 exists). */
    iocph_endpoint any6 = test_loopback(IOCPH_AF_INET6, 0);
    memset(any6.address, 0, 16);
    iocph_handle_t dual = 0;
    int32_t rc = iocph_tcp_listen(port, &any6, 0, IOCPH_SOCKET_DUAL_MODE, 0, &dual);
    if (rc == IOCPH_OK) {
        CHECK_OK(iocph_socket_get_endpoint(dual, IOCPH_ENDPOINT_LOCAL, &ep));
        CHECK_EQ(ep.family, IOCPH_AF_INET6);
        CHECK_OK(iocph_handle_close(dual));
    } else {
        printf("note: no IPv6 (%s): dual mode not tried\n", iocph_status_message(rc));
    }

    CHECK_OK(iocph_handle_close(u));
    CHECK_OK(iocph_handle_close(client));
    CHECK_OK(iocph_handle_close(ar.socket));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
