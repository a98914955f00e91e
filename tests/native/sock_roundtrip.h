/* The round-trip test body shared by test_sock_roundtrip_v4.c and test_sock_roundtrip_v6.c:
 * sizes from 1 byte to 1 MiB over loopback, client -> server with plain sends and receives,
 * server -> client with gather sends and scatter receives; then eight sends queued back to back
 * on one socket must arrive in order. One pull-mode port, driven by this thread. */
#ifndef IOCPH_SOCK_ROUNDTRIP_H
#define IOCPH_SOCK_ROUNDTRIP_H

#include "test_util.h"

enum { UD_SEND = 10, UD_RECV = 11 };

/* Sends `len` bytes of src from `from` (plain or gather) and receives them at `to` (plain or
 * scatter), until both sides are done. */
static void transfer(iocph_port_t port, iocph_handle_t from, iocph_handle_t to,
                     const uint8_t *src, uint8_t *dst, uint32_t len, int vectored)
{
    if (vectored) {
        /* Three pieces with an empty one in the middle: empty entries are allowed. */
        uint32_t a = len / 3, b = len - a;
        iocph_buffer bufs[3] = {{(void *)src, a, 0}, {NULL, 0, 0}, {(void *)(src + a), b, 0}};
        CHECK_OK(iocph_socket_send_gather(from, bufs, 3, 0, UD_SEND, NULL));
    } else {
        CHECK_OK(iocph_socket_send(from, src, len, 0, UD_SEND, NULL));
    }
    uint32_t got = 0;
    int sent = 0;
    for (;;) {
        if (got < len) {
            uint32_t left = len - got;
            if (vectored && left > 1) {
                uint32_t half = left / 2;
                iocph_buffer bufs[2] = {{dst + got, half, 0}, {dst + got + half, left - half, 0}};
                CHECK_OK(iocph_socket_receive_scatter(to, bufs, 2, 0, UD_RECV, NULL));
            } else {
                CHECK_OK(iocph_socket_receive(to, dst + got, left, 0, UD_RECV, NULL));
            }
        }
        if (got == len && sent)
            break;
        /* One receive outstanding at a time; the send may complete in between. */
        for (;;) {
            iocph_completion c = test_dequeue_one(port, 10000);
            if (c.user_data == UD_SEND) {
                CHECK_EQ(c.result, len); /* a send completes only when every byte is out */
                sent = 1;
                if (got == len)
                    break;
                continue;
            }
            CHECK_EQ(c.user_data, UD_RECV);
            CHECK(c.result > 0);
            got += (uint32_t)c.result;
            CHECK(got <= len);
            break;
        }
        if (got == len && sent)
            break;
    }
    CHECK(test_check_fill(dst, len, len));
}

static int roundtrip_main(uint16_t family)
{
    test_watchdog(100);
    iocph_port_t port = test_port_pull(2);
    if (family == IOCPH_AF_INET6) {
        iocph_endpoint ep = test_loopback(IOCPH_AF_INET6, 0);
        iocph_handle_t probe;
        int32_t rc = iocph_tcp_listen(port, &ep, 0, 0, 0, &probe);
        if (rc != IOCPH_OK) {
            printf("::1 can't be bound: %s\n", iocph_status_message(rc));
            CHECK_OK(iocph_port_destroy(port));
            test_skip("no IPv6 loopback here");
        }
        CHECK_OK(iocph_handle_close(probe));
    }
    iocph_handle_t client, server;
    test_tcp_pair(port, family, &client, &server);

    static const uint32_t sizes[] = {1, 2, 7, 1000, 4096, 65535, 65536, 65537, 300000, 1u << 20};
    uint8_t *src = malloc(1u << 20), *dst = malloc(1u << 20);
    CHECK(src && dst);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint32_t len = sizes[i];
        test_fill(src, len, len);
        memset(dst, 0, len);
        transfer(port, client, server, src, dst, len, 0);
        memset(dst, 0, len);
        transfer(port, server, client, src, dst, len, 1);
    }

    /* Again with small socket buffers: big sends now go out in many pieces (io_uring: short
     * sends, resubmitted or retried by the kernel; IOCP: the send stays pending). */
    {
        iocph_handle_t c2, s2;
        test_tcp_pair(port, family, &c2, &s2);
        iocph_handle_t both[2] = {c2, s2};
        for (int k = 0; k < 2; k++) {
            /* 32 KiB: small enough for many short sends, large enough that delayed ACKs do
             * not stall loopback for seconds (4 KiB took 40 s per MiB). */
            CHECK_OK(iocph_socket_set_option(both[k], IOCPH_SOCKOPT_SEND_BUFFER, 32768));
            CHECK_OK(iocph_socket_set_option(both[k], IOCPH_SOCKOPT_RECEIVE_BUFFER, 32768));
            CHECK_OK(iocph_socket_set_option(both[k], IOCPH_SOCKOPT_NO_DELAY, 1));
        }
        static const uint32_t small_sizes[] = {5000, 65537, 1u << 20};
        for (size_t i = 0; i < sizeof small_sizes / sizeof small_sizes[0]; i++) {
            uint32_t len = small_sizes[i];
            test_fill(src, len, len);
            memset(dst, 0, len);
            transfer(port, c2, s2, src, dst, len, 0);
            memset(dst, 0, len);
            transfer(port, s2, c2, src, dst, len, 1);
        }
        CHECK_OK(iocph_handle_close(c2));
        CHECK_OK(iocph_handle_close(s2));
    }

    /* Eight 128 KiB sends queued at once on one socket arrive whole and in order. */
    const uint32_t chunk = 128u * 1024u;
    uint8_t *many = malloc((size_t)chunk * 8), *back = malloc((size_t)chunk * 8);
    CHECK(many && back);
    test_fill(many, (size_t)chunk * 8, 99);
    for (uint32_t k = 0; k < 8; k++)
        CHECK_OK(iocph_socket_send(client, many + (size_t)k * chunk, chunk, 0, 100 + k, NULL));
    size_t got = 0;
    uint32_t sends_done = 0;
    CHECK_OK(iocph_socket_receive(server, back, chunk * 8, 0, UD_RECV, NULL));
    while (sends_done < 8 || got < (size_t)chunk * 8) {
        iocph_completion c = test_dequeue_one(port, 10000);
        if (c.user_data >= 100 && c.user_data < 108) {
            CHECK_EQ(c.result, chunk);
            sends_done++;
            continue;
        }
        CHECK_EQ(c.user_data, UD_RECV);
        CHECK(c.result > 0);
        got += (size_t)c.result;
        if (got < (size_t)chunk * 8)
            CHECK_OK(iocph_socket_receive(server, back + got, (uint32_t)(chunk * 8 - got), 0,
                                          UD_RECV, NULL));
    }
    CHECK(test_check_fill(back, (size_t)chunk * 8, 99));

    /* Orderly close: the peer's receive sees 0. */
    CHECK_OK(iocph_handle_close(client));
    CHECK_OK(iocph_socket_receive(server, dst, 16, 0, UD_RECV, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 0);
    CHECK_OK(iocph_handle_close(server));
    free(src);
    free(dst);
    free(many);
    free(back);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}

#endif
