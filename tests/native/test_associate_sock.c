/* iocph_handle_associate with sockets the caller made (socket(), bind, listen, connect): a
 * listener whose accepts go through the port, a connected TCP socket and a UDP socket, with data
 * both ways between the port and plain blocking sockets. On Linux the caller's sockets start in
 * the mode the backend does not use (a nonblocking UDP socket for io_uring, blocking TCP
 * sockets for epoll): association puts them in the one it needs. */
#include "test_util.h"

#include "os_handles.h"

static iocph_completion expect(iocph_port_t port, uint64_t user_data)
{
    iocph_completion c = test_dequeue_one(port, 10000);
    if (c.user_data != user_data)
        test_fail(__FILE__, __LINE__, "got user_data %llu (result %lld), expected %llu",
                  (unsigned long long)c.user_data, (long long)c.result,
                  (unsigned long long)user_data);
    return c;
}

static void port_send(iocph_port_t port, iocph_handle_t s, const char *text)
{
    uint32_t len = (uint32_t)strlen(text);
    CHECK_OK(iocph_socket_send(s, text, len, 0, 20, NULL));
    CHECK_EQ(expect(port, 20).result, len);
}

static void port_receive(iocph_port_t port, iocph_handle_t s, const char *text)
{
    char buf[64] = {0};
    uint32_t len = (uint32_t)strlen(text), got = 0;
    while (got < len) {
        CHECK_OK(iocph_socket_receive(s, buf + got, len - got, 0, 21, NULL));
        int64_t n = expect(port, 21).result;
        CHECK(n > 0);
        got += (uint32_t)n;
    }
    CHECK(memcmp(buf, text, len) == 0);
}

int main(void)
{
    test_watchdog(60);
    os_init();
    iocph_port_t port = test_port_pull(1);
    char buf[64];

    /* A listener: the port accepts a connection the caller's own client makes. */
    uint16_t lport;
    os_socket listener = os_tcp_listener(&lport);
    iocph_handle_t l = 0;
    CHECK_OK(iocph_handle_associate(port, (int64_t)listener, IOCPH_HANDLE_TCP_LISTENER, 0x11, 0, &l));
    iocph_endpoint ep;
    CHECK_OK(iocph_socket_get_endpoint(l, IOCPH_ENDPOINT_LOCAL, &ep));
    CHECK_EQ(ep.port, lport);
    iocph_accept_result accepted;
    CHECK_OK(iocph_tcp_accept(l, 0x22, &accepted, 0, 1, NULL));
    os_socket client = os_tcp_connect(lport);
    iocph_completion c = expect(port, 1);
    CHECK_EQ(c.result, 0);
    CHECK_EQ(c.key, 0x11);
    iocph_handle_t server = accepted.socket;
    os_send_all(client, "hello port", 10);
    port_receive(port, server, "hello port");
    port_send(port, server, "hello caller");
    os_recv_all(client, buf, 12);
    CHECK(memcmp(buf, "hello caller", 12) == 0);

    /* The caller's connected client joins the port too: both ends are the port's now. */
    iocph_handle_t t = 0;
    CHECK_OK(iocph_handle_associate(port, (int64_t)client, IOCPH_HANDLE_TCP, 0x33, 0, &t));
    CHECK_OK(iocph_socket_get_endpoint(t, IOCPH_ENDPOINT_REMOTE, &ep));
    CHECK_EQ(ep.port, lport);
    port_send(port, t, "both ways");
    port_receive(port, server, "both ways");
    port_send(port, server, "and back");
    port_receive(port, t, "and back");
    CHECK_OK(iocph_socket_set_option(t, IOCPH_SOCKOPT_NO_DELAY, 1));
    /* An orderly close from the caller's side reaches the other end as 0. */
    CHECK_OK(iocph_socket_shutdown_send(t));
    CHECK_OK(iocph_socket_receive(server, buf, sizeof buf, 0, 2, NULL));
    CHECK_EQ(expect(port, 2).result, 0);
    CHECK_OK(iocph_handle_close(t));
    CHECK_OK(iocph_handle_close(server));
    CHECK_OK(iocph_handle_close(l));

    /* UDP, nonblocking to begin with; the caller's plain UDP socket on the other side. */
    os_socket u = os_socket_new(SOCK_DGRAM, 1);
    uint16_t uport = os_bind_loopback(u);
    os_socket peer = os_socket_new(SOCK_DGRAM, 0);
    uint16_t pport = os_bind_loopback(peer);
    iocph_handle_t uh = 0;
    CHECK_OK(iocph_handle_associate(port, (int64_t)u, IOCPH_HANDLE_UDP, 0x44, IOCPH_ASSOCIATE_DUPLICATE,
                                    &uh));
    os_close_socket((int64_t)u); /* the port keeps its duplicate */
    iocph_endpoint from;
    CHECK_OK(iocph_udp_receive_from(uh, buf, sizeof buf, &from, 0, 3, NULL));
    struct sockaddr_in to;
    os_loopback(&to, uport);
    CHECK(sendto(peer, "datagram", 8, 0, (struct sockaddr *)&to, sizeof to) == 8);
    c = expect(port, 3);
    CHECK_EQ(c.result, 8);
    CHECK_EQ(c.key, 0x44);
    CHECK(memcmp(buf, "datagram", 8) == 0);
    CHECK_EQ(from.port, pport);
    iocph_endpoint back = os_endpoint(pport);
    CHECK_OK(iocph_udp_send_to(uh, "reply", 5, &back, 0, 4, NULL));
    CHECK_EQ(expect(port, 4).result, 5);
    CHECK(recv(peer, buf, sizeof buf, 0) == 5);
    CHECK(memcmp(buf, "reply", 5) == 0);
    CHECK_OK(iocph_handle_close(uh));
    os_close_socket((int64_t)peer);

    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
