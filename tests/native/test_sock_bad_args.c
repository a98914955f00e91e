/* Every socket function refuses bad arguments before it reaches the OS: NULL pointers, bad
 * families, zero and huge lengths, buffer counts of 0 or more than IOCPH_MAX_BUFFERS, nonzero
 * reserved fields, unknown flags, handles of the wrong kind (a UDP op on a TCP socket, a TCP op
 * on a file or pipe) and stale or forged values. Nothing is started, nothing leaks. */
#include "test_util.h"

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);
    iocph_endpoint lo = test_loopback(IOCPH_AF_INET, 0);
    iocph_endpoint bad = lo;
    bad.family = 5;
    iocph_handle_t h = 123;
    iocph_op_t op = 456;
    char buf[16];
    const int32_t INV = IOCPH_E_INVALID_ARGUMENT;

    /* listen / bind */
    CHECK_STATUS(iocph_tcp_listen(port, NULL, 0, 0, 0, &h), INV);
    CHECK_EQ(h, 0); /* outputs cleared on failure */
    CHECK_STATUS(iocph_tcp_listen(port, &bad, 0, 0, 0, &h), INV);
    CHECK_STATUS(iocph_tcp_listen(port, &lo, 0, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_tcp_listen(port, &lo, 0, 0x100, 0, &h), INV);
    CHECK_STATUS(iocph_tcp_listen(port, &lo, 0, IOCPH_SOCKET_DUAL_MODE, 0, &h), INV); /* IPv4 */
    CHECK_STATUS(iocph_tcp_listen(0, &lo, 0, 0, 0, &h), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_tcp_listen(port + 1, &lo, 0, 0, 0, &h), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_udp_bind(port, NULL, 0, 0, &h), INV);
    CHECK_STATUS(iocph_udp_bind(port, &bad, 0, 0, &h), INV);
    CHECK_STATUS(iocph_udp_bind(port, &lo, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_udp_bind(port, &lo, 0x80000000u, 0, &h), INV);

    /* connect */
    iocph_endpoint target = test_loopback(IOCPH_AF_INET, 9);
    iocph_endpoint target6 = test_loopback(IOCPH_AF_INET6, 9);
    h = 1;
    CHECK_STATUS(iocph_tcp_connect(port, NULL, NULL, 0, 0, 0, &h, &op), INV);
    CHECK_EQ(h, 0);
    CHECK_EQ(op, 0);
    CHECK_STATUS(iocph_tcp_connect(port, &bad, NULL, 0, 0, 0, &h, NULL), INV);
    CHECK_STATUS(iocph_tcp_connect(port, &lo, NULL, 0, 0, 0, &h, NULL), INV); /* port 0 */
    CHECK_STATUS(iocph_tcp_connect(port, &target, &bad, 0, 0, 0, &h, NULL), INV);
    CHECK_STATUS(iocph_tcp_connect(port, &target, &target6, 0, 0, 0, &h, NULL), INV);
    CHECK_STATUS(iocph_tcp_connect(port, &target, NULL, 0, 0, 0, NULL, NULL), INV);
    CHECK_STATUS(iocph_tcp_connect(0, &target, NULL, 0, 0, 0, &h, NULL), IOCPH_E_BADHANDLE);

    /* Real handles of every kind to aim at. */
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
    iocph_handle_t client, server;
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
    iocph_handle_t udp;
    CHECK_OK(iocph_udp_bind(port, &lo, 0, 0, &udp));
    iocph_endpoint uep;
    CHECK_OK(iocph_socket_get_endpoint(udp, IOCPH_ENDPOINT_LOCAL, &uep));
    iocph_handle_t pr, pw;
    CHECK_OK(iocph_pipe_create(port, 0, &pr, &pw));

    /* accept */
    iocph_accept_result ar;
    CHECK_STATUS(iocph_tcp_accept(listener, 0, NULL, 0, 0, &op), INV);
    CHECK_EQ(op, 0);
    CHECK_STATUS(iocph_tcp_accept(client, 0, &ar, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_tcp_accept(udp, 0, &ar, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_tcp_accept(pr, 0, &ar, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_tcp_accept(port, 0, &ar, 0, 0, NULL), IOCPH_E_BADHANDLE);

    /* send / receive */
    CHECK_STATUS(iocph_socket_send(client, NULL, 1, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_send(client, buf, 0, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_send(client, buf, IOCPH_MAX_IO_LENGTH + 1, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_receive(client, NULL, 1, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_send(udp, buf, 1, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_receive(udp, buf, 1, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_send(listener, buf, 1, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_receive(pr, buf, 1, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_pipe_read(client, buf, 1, 0, NULL), IOCPH_E_BADHANDLE);

    /* gather / scatter */
    iocph_buffer bufs[IOCPH_MAX_BUFFERS + 1];
    for (int i = 0; i <= IOCPH_MAX_BUFFERS; i++) {
        bufs[i].data = buf;
        bufs[i].length = 1;
        bufs[i].reserved = 0;
    }
    CHECK_STATUS(iocph_socket_send_gather(client, NULL, 1, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_send_gather(client, bufs, 0, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_send_gather(client, bufs, IOCPH_MAX_BUFFERS + 1, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_receive_scatter(client, bufs, 0, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_receive_scatter(client, bufs, IOCPH_MAX_BUFFERS + 1, 0, 0, NULL),
                 INV);
    bufs[1].reserved = 1;
    CHECK_STATUS(iocph_socket_send_gather(client, bufs, 2, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_socket_receive_scatter(client, bufs, 2, 0, 0, NULL), INV);
    bufs[1].reserved = 0;
    bufs[1].data = NULL; /* NULL behind a nonzero length */
    CHECK_STATUS(iocph_socket_send_gather(client, bufs, 2, 0, 0, NULL), INV);
    bufs[1].data = buf;
    bufs[0].length = 0;
    bufs[1].length = 0; /* nothing at all */
    CHECK_STATUS(iocph_socket_receive_scatter(client, bufs, 2, 0, 0, NULL), INV);
    bufs[0].length = IOCPH_MAX_IO_LENGTH;
    bufs[1].length = 1; /* too much in total */
    CHECK_STATUS(iocph_socket_send_gather(client, bufs, 2, 0, 0, NULL), INV);
    bufs[0].length = 1;
    CHECK_STATUS(iocph_socket_send_gather(udp, bufs, 2, 0, 0, NULL), IOCPH_E_BADHANDLE);

    /* UDP */
    iocph_endpoint from;
    CHECK_STATUS(iocph_udp_send_to(udp, NULL, 1, &uep, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_udp_send_to(udp, buf, 0, &uep, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_udp_send_to(udp, buf, 1, NULL, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_udp_send_to(udp, buf, 1, &bad, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_udp_send_to(udp, buf, 1, &lo, 0, 0, NULL), INV); /* port 0 */
    CHECK_STATUS(iocph_udp_send_to(udp, buf, 1, &target6, 0, 0, NULL), INV); /* IPv6 to v4 */
    CHECK_STATUS(iocph_udp_receive_from(udp, NULL, 1, &from, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_udp_receive_from(udp, buf, 0, &from, 0, 0, NULL), INV);
    CHECK_STATUS(iocph_udp_send_to(client, buf, 1, &uep, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_udp_receive_from(client, buf, 1, &from, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_udp_receive_from(listener, buf, 1, &from, 0, 0, NULL), IOCPH_E_BADHANDLE);

    /* shutdown, endpoints, options */
    iocph_endpoint ep;
    CHECK_STATUS(iocph_socket_shutdown_send(udp), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_shutdown_send(listener), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_shutdown_send(pw), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_get_endpoint(client, IOCPH_ENDPOINT_LOCAL, NULL), INV);
    CHECK_STATUS(iocph_socket_get_endpoint(client, 2, &ep), INV);
    CHECK_STATUS(iocph_socket_get_endpoint(client, -1, &ep), INV);
    CHECK_STATUS(iocph_socket_get_endpoint(pr, IOCPH_ENDPOINT_LOCAL, &ep), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_set_option(pr, IOCPH_SOCKOPT_NO_DELAY, 1), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_get_option(0, IOCPH_SOCKOPT_NO_DELAY, (int32_t *)buf),
                 IOCPH_E_BADHANDLE);

    /* Stale and forged values. */
    iocph_handle_t stale = client;
    CHECK_OK(iocph_handle_close(client));
    CHECK_STATUS(iocph_socket_send(stale, buf, 1, 0, 0, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_get_endpoint(stale, IOCPH_ENDPOINT_LOCAL, &ep), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_handle_close(stale), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_send(server ^ ((uint64_t)1 << 40), buf, 1, 0, 0, NULL),
                 IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_socket_send(~(uint64_t)0, buf, 1, 0, 0, NULL), IOCPH_E_BADHANDLE);

    /* Every socket status has its own message. */
    for (int32_t code = IOCPH_E_CONNECTION_REFUSED; code >= IOCPH_E_NOT_CONNECTED; code--)
        CHECK(strcmp(iocph_status_message(code), "unknown status") != 0);

    /* Nothing of the above was started. */
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_handle_close(server));
    CHECK_OK(iocph_handle_close(listener));
    CHECK_OK(iocph_handle_close(udp));
    CHECK_OK(iocph_handle_close(pr));
    CHECK_OK(iocph_handle_close(pw));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
