/* UDP: datagrams both ways with the sender's endpoint, a datagram longer than the buffer
 * (truncated, flagged IOCPH_COMPLETION_TRUNCATED, the rest lost), several receives outstanding,
 * a receive timeout, a datagram too large for UDP, and a receive pending at close. */
#include "test_util.h"

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(2);
    iocph_endpoint any = test_loopback(IOCPH_AF_INET, 0);
    iocph_handle_t a, b;
    CHECK_OK(iocph_udp_bind(port, &any, 0, 1, &a));
    CHECK_OK(iocph_udp_bind(port, &any, 0, 2, &b));
    iocph_endpoint ea, eb;
    CHECK_OK(iocph_socket_get_endpoint(a, IOCPH_ENDPOINT_LOCAL, &ea));
    CHECK_OK(iocph_socket_get_endpoint(b, IOCPH_ENDPOINT_LOCAL, &eb));
    CHECK(ea.port != 0 && eb.port != 0 && ea.port != eb.port);
    iocph_completion c;

    /* a -> b, with the sender's endpoint. */
    char rbuf[256];
    iocph_endpoint from;
    memset(&from, 0xAB, sizeof from);
    CHECK_OK(iocph_udp_receive_from(b, rbuf, sizeof rbuf, &from, 0, 10, NULL));
    CHECK_OK(iocph_udp_send_to(a, "datagram", 8, &eb, 0, 11, NULL));
    int seen = 0;
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.result, 8);
        CHECK_EQ(c.flags, 0);
        seen |= c.user_data == 10 ? 1 : c.user_data == 11 ? 2 : 4;
        if (c.user_data == 10)
            CHECK_EQ(c.key, 2);
    }
    CHECK_EQ(seen, 3);
    CHECK(memcmp(rbuf, "datagram", 8) == 0);
    CHECK_EQ(from.family, IOCPH_AF_INET);
    CHECK_EQ(from.port, ea.port);
    CHECK(memcmp(from.address, ea.address, 4) == 0);

    /* Truncation: 100 bytes into a 10-byte buffer. */
    uint8_t big[100];
    test_fill(big, sizeof big, 5);
    CHECK_OK(iocph_udp_send_to(b, big, sizeof big, &ea, 0, 20, NULL));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 20);
    CHECK_EQ(c.result, 100);
    uint8_t small[10];
    CHECK_OK(iocph_udp_receive_from(a, small, sizeof small, &from, 0, 21, NULL));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 21);
    CHECK_EQ(c.result, 10);
    CHECK_EQ(c.flags, IOCPH_COMPLETION_TRUNCATED);
    CHECK(test_check_fill(small, sizeof small, 5));
    CHECK_EQ(from.port, eb.port);

    /* The rest was discarded: the next datagram arrives whole, unflagged (sender NULL: not
     * wanted). */
    CHECK_OK(iocph_udp_send_to(b, "next", 4, &ea, 0, 22, NULL));
    CHECK_OK(iocph_udp_receive_from(a, rbuf, sizeof rbuf, NULL, 0, 23, NULL));
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.result, 4);
        CHECK_EQ(c.flags, 0);
    }
    CHECK(memcmp(rbuf, "next", 4) == 0);

    /* Several receives outstanding, then as many datagrams: each lands once, whole. */
    enum { N = 8 };
    uint32_t slots[N], values[N];
    for (uint32_t i = 0; i < N; i++)
        CHECK_OK(iocph_udp_receive_from(b, &slots[i], sizeof slots[i], NULL, 0, 100 + i, NULL));
    test_expect_nothing(port, 30);
    for (uint32_t i = 0; i < N; i++) {
        values[i] = 0xC0DE0000u + i; /* valid until its send completes */
        CHECK_OK(iocph_udp_send_to(a, &values[i], sizeof values[i], &eb, 0, 200 + i, NULL));
    }
    uint32_t done[2] = {0, 0};
    for (uint32_t i = 0; i < 2 * N; i++) {
        c = test_dequeue_one(port, 5000);
        int is_send = c.user_data >= 200 && c.user_data < 200 + N;
        CHECK(is_send || (c.user_data >= 100 && c.user_data < 100 + N));
        CHECK_EQ(c.result, 4);
        uint32_t bit = 1u << (c.user_data % 100);
        CHECK_EQ(done[is_send] & bit, 0); /* exactly once */
        done[is_send] |= bit;
    }
    uint32_t mask = 0;
    for (uint32_t i = 0; i < N; i++) {
        CHECK((slots[i] & 0xFFFF0000u) == 0xC0DE0000u);
        mask |= 1u << (slots[i] & 0xFFFFu);
    }
    CHECK_EQ(mask, (1u << N) - 1); /* every datagram arrived, none twice */

    /* Receive timeout. */
    uint64_t t0 = test_now_ms();
    CHECK_OK(iocph_udp_receive_from(a, rbuf, sizeof rbuf, &from, 100, 30, NULL));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 30);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_TIMEOUT);
    CHECK(test_now_ms() - t0 >= 90);

    /* Larger than a UDP datagram can be. */
    uint8_t *huge = calloc(1, 70000);
    CHECK(huge != NULL);
    int32_t rc = iocph_udp_send_to(a, huge, 70000, &eb, 0, 31, NULL);
    if (rc == IOCPH_OK) {
        c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 31);
        CHECK_STATUS((int32_t)c.result, IOCPH_E_MESSAGE_TOO_LARGE);
    } else {
        CHECK_STATUS(rc, IOCPH_E_MESSAGE_TOO_LARGE);
    }
    free(huge);

    /* Close with a receive pending. */
    CHECK_OK(iocph_udp_receive_from(b, rbuf, sizeof rbuf, &from, 0, 40, NULL));
    test_expect_nothing(port, 30);
    CHECK_OK(iocph_handle_close(b));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 40);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
    test_expect_nothing(port, 50);

    CHECK_OK(iocph_handle_close(a));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
