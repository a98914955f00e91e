/* The peer vanishes mid-transfer. A TCP peer that resets (SO_LINGER 0) or closes while large
 * sends and receives are pending on our side: each completes exactly once, with its bytes or
 * with a reset / aborted / broken-pipe error, and nothing hangs. A pipe whose other end closes
 * mid-transfer: the pending write fails with IOCPH_E_BROKEN_PIPE, the pending read ends with 0.
 * A UDP peer that is gone (port unreachable): sends complete once, the pending receive is not
 * disturbed and still gets the next live datagram (Windows' WSAECONNRESET is turned off, Linux
 * reports nothing on an unconnected socket). Pull mode, two workers. */
#include "test_util.h"

#define BIG (16u << 20) /* more than loopback's socket buffers hold: the sends stay pending */
#define SENDS 4
#define RECVS 2

static uint8_t send_buf[BIG];
static uint8_t recv_buf[RECVS][1 << 20];

static int is_connection_error(int64_t r)
{
    return r == IOCPH_E_CONNECTION_RESET || r == IOCPH_E_CONNECTION_ABORTED ||
           r == IOCPH_E_BROKEN_PIPE;
}

/* Our side has SENDS big sends and RECVS receives pending when the peer goes away (reset or
 * orderly close after it read a little). */
static void tcp_case(iocph_port_t port, int reset)
{
    iocph_handle_t client, server;
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
    for (uint64_t i = 0; i < SENDS; i++)
        CHECK_OK(iocph_socket_send(client, send_buf, BIG, 0, 10 + i, NULL));
    for (uint64_t i = 0; i < RECVS; i++)
        CHECK_OK(iocph_socket_receive(client, recv_buf[i], sizeof recv_buf[i], 0, 20 + i, NULL));
    /* The peer reads a little of the transfer, so the bytes are really moving, then goes. */
    static uint8_t peer_buf[65536];
    CHECK_OK(iocph_socket_receive(server, peer_buf, sizeof peer_buf, 0, 30, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 30);
    CHECK(c.result > 0);
    CHECK(test_check_fill(peer_buf, (size_t)c.result, 1));
    if (reset)
        CHECK_OK(iocph_socket_set_option(server, IOCPH_SOCKOPT_LINGER, 0));
    CHECK_OK(iocph_handle_close(server));

    int seen[SENDS + RECVS] = {0};
    for (int n = 0; n < SENDS + RECVS; n++) {
        c = test_dequeue_one(port, 20000);
        if (c.user_data >= 10 && c.user_data < 10 + SENDS) {
            seen[c.user_data - 10]++;
            if (c.result != BIG && !is_connection_error(c.result))
                test_fail(__FILE__, __LINE__, "send %llu: %lld (%s)",
                          (unsigned long long)c.user_data, (long long)c.result,
                          iocph_status_message((int32_t)c.result));
        } else {
            CHECK(c.user_data >= 20 && c.user_data < 20 + RECVS);
            seen[SENDS + c.user_data - 20]++;
            /* The peer sent nothing: end of stream or the reset, never bytes. */
            if (c.result != 0 && !is_connection_error(c.result))
                test_fail(__FILE__, __LINE__, "receive %llu: %lld (%s)",
                          (unsigned long long)c.user_data, (long long)c.result,
                          iocph_status_message((int32_t)c.result));
        }
    }
    for (int i = 0; i < SENDS + RECVS; i++)
        CHECK_EQ(seen[i], 1);
    /* Not every send can have gone through: the peer read 64 KiB of 64 MiB. */
    test_expect_nothing(port, 50);

    /* A later send on the dead connection fails, at the call or at its completion. */
    int32_t rc = iocph_socket_send(client, send_buf, BIG, 0, 40, NULL);
    if (rc == IOCPH_OK) {
        c = test_dequeue_one(port, 20000);
        CHECK_EQ(c.user_data, 40);
        if (!is_connection_error(c.result))
            test_fail(__FILE__, __LINE__, "send after the peer left: %lld (%s)",
                      (long long)c.result, iocph_status_message((int32_t)c.result));
    } else {
        CHECK(is_connection_error(rc));
    }
    CHECK_OK(iocph_handle_close(client));
    test_expect_nothing(port, 20);
    test_check_stats_idle(port);
}

static void pipe_case(iocph_port_t port)
{
    /* The reader goes while a big write is pending and after it took part of it. */
    iocph_handle_t r, w;
    CHECK_OK(iocph_pipe_create(port, 1, &r, &w));
    CHECK_OK(iocph_pipe_write(w, send_buf, BIG, 50, NULL));
    CHECK_OK(iocph_pipe_read(r, recv_buf[0], 4096, 51, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 51);
    CHECK(c.result > 0);
    CHECK(test_check_fill(recv_buf[0], (size_t)c.result, 1));
    CHECK_OK(iocph_handle_close(r));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 50);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_BROKEN_PIPE);
    test_expect_nothing(port, 30);
    CHECK_OK(iocph_handle_close(w));

    /* The writer goes while reads are pending, after part of its data arrived. */
    CHECK_OK(iocph_pipe_create(port, 1, &r, &w));
    CHECK_OK(iocph_pipe_write(w, send_buf, 1000, 60, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 1000);
    CHECK_OK(iocph_handle_close(w));
    uint32_t got = 0;
    for (int eof = 0; !eof;) {
        CHECK_OK(iocph_pipe_read(r, recv_buf[0] + got, 4096, 61, NULL));
        c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, 61);
        CHECK(c.result >= 0);
        got += (uint32_t)c.result;
        eof = c.result == 0;
    }
    CHECK_EQ(got, 1000);
    CHECK(test_check_fill(recv_buf[0], 1000, 1));
    CHECK_OK(iocph_handle_close(r));
    test_check_stats_idle(port);
}

static void udp_case(iocph_port_t port)
{
    iocph_endpoint any = test_loopback(IOCPH_AF_INET, 0), gone_ep, a_ep;
    iocph_handle_t a, gone, live;
    CHECK_OK(iocph_udp_bind(port, &any, 0, 1, &a));
    CHECK_OK(iocph_udp_bind(port, &any, 0, 1, &gone));
    CHECK_OK(iocph_udp_bind(port, &any, 0, 1, &live));
    CHECK_OK(iocph_socket_get_endpoint(a, IOCPH_ENDPOINT_LOCAL, &a_ep));
    CHECK_OK(iocph_socket_get_endpoint(gone, IOCPH_ENDPOINT_LOCAL, &gone_ep));
    CHECK_OK(iocph_handle_close(gone)); /* its port now answers ICMP port unreachable */
    static uint8_t dgram[512];
    iocph_endpoint from;
    CHECK_OK(iocph_udp_receive_from(a, dgram, sizeof dgram, &from, 0, 70, NULL));
    for (uint64_t i = 0; i < 3; i++) {
        CHECK_OK(iocph_udp_send_to(a, send_buf, 100, &gone_ep, 0, 71, NULL));
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, 71); /* not the receive: the ICMP answer must not end it */
        if (c.result != 100 && c.result != IOCPH_E_CONNECTION_REFUSED)
            test_fail(__FILE__, __LINE__, "send to a gone peer: %lld (%s)", (long long)c.result,
                      iocph_status_message((int32_t)c.result));
    }
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_udp_send_to(live, send_buf, 200, &a_ep, 0, 72, NULL));
    int seen_send = 0, seen_recv = 0;
    for (int i = 0; i < 2; i++) {
        iocph_completion c = test_dequeue_one(port, 10000);
        if (c.user_data == 72) {
            CHECK_EQ(c.result, 200);
            seen_send++;
        } else {
            CHECK_EQ(c.user_data, 70);
            CHECK_EQ(c.result, 200);
            CHECK(test_check_fill(dgram, 200, 1));
            seen_recv++;
        }
    }
    CHECK_EQ(seen_send, 1);
    CHECK_EQ(seen_recv, 1);
    CHECK_OK(iocph_handle_close(a));
    CHECK_OK(iocph_handle_close(live));
    test_check_stats_idle(port);
}

int main(void)
{
    test_watchdog(100);
    test_fill(send_buf, BIG, 1);
    iocph_port_t port = test_port_pull(2);
    tcp_case(port, 1);
    tcp_case(port, 0);
    pipe_case(port);
    udp_case(port);
    CHECK_OK(iocph_port_destroy(port));
    printf("reset, close, pipe and UDP peers vanished: every pending operation completed once\n");
    return 0;
}
