/* Completions racing the thread that issues them: several threads start UDP send_to /
 * receive_from (some receives into a buffer shorter than the datagram: truncated) and TCP
 * send / receive as fast as the port finishes them, on a push-mode port with several workers.
 * A send or receive that finishes at once is picked up by a worker, finished and its op slot
 * handed to another thread while the issuing thread is still returning from the OS call: the
 * issuing path must not read the op after the call (on IOCP it read the handle's
 * skip-on-success flag and the OVERLAPPED's status there: a NULL handle, "Fatal error." under
 * Wine). Checks: every op that started completes exactly once with its expected result, every
 * datagram arrives whole or flagged truncated, every TCP byte arrives, the port ends idle. */
#include "test_util.h"

enum { THREADS = 4, ITER = 2000, WINDOW = 12, MSG_LEN = 16, SHORT_LEN = 8 };
enum { K_UDP_SEND, K_UDP_RECV, K_TCP_SEND, K_TCP_RECV, KINDS };
enum { K_SETUP = 7 }; /* accept / connect of the TCP pairs */

#define UD(t, kind, i) (((uint64_t)(t) << 40) | ((uint64_t)(kind) << 32) | (uint32_t)(i))

typedef struct lane {
    iocph_handle_t udp_tx, udp_rx, tcp_tx, tcp_rx;
    iocph_endpoint udp_rx_ep;
    _Atomic uint64_t started, completed;
    _Atomic uint64_t tcp_sent, tcp_received;
    _Atomic uint32_t tcp_recv_outstanding;
    uint32_t tcp_receives; /* started, including the drain's extra ones */
    _Atomic uint8_t *done[KINDS];
    uint8_t *udp_out, *udp_in, *tcp_out, *tcp_in;
    test_thread thread;
} lane;

static lane lanes[THREADS];
static _Atomic uint64_t bad, setup_done;
static _Atomic uint64_t truncated_seen;

static void fail_note(const char *what, uint64_t id, const iocph_completion *c)
{
    fprintf(stderr, "%s: op %llx result %lld (%s) flags %u os_error %d\n", what,
            (unsigned long long)id, (long long)c->result, iocph_status_message((int32_t)c->result),
            c->flags, (int)c->os_error);
    atomic_fetch_add(&bad, 1);
}

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t e = 0; e < count; e++) {
        const iocph_completion *c = &entries[e];
        uint64_t id = c->user_data;
        uint32_t t = (uint32_t)(id >> 40), kind = (uint32_t)(id >> 32) & 0xFF;
        uint32_t i = (uint32_t)id;
        if (kind == K_SETUP) {
            if (c->result != 0)
                fail_note("setup", id, c);
            atomic_fetch_add(&setup_done, 1);
            continue;
        }
        if (t >= THREADS || kind >= KINDS || i >= 2u * ITER) {
            fail_note("unknown", id, c);
            continue;
        }
        lane *l = &lanes[t];
        if (atomic_fetch_add(&l->done[kind][i], 1) != 0)
            fail_note("completed twice", id, c);
        switch (kind) {
        case K_UDP_SEND:
        case K_TCP_SEND:
            if (c->result != MSG_LEN || c->flags != 0)
                fail_note("send", id, c);
            if (kind == K_TCP_SEND)
                atomic_fetch_add(&l->tcp_sent, MSG_LEN);
            break;
        case K_UDP_RECV: {
            int shorter = i % 5 == 4;
            uint32_t want = shorter ? SHORT_LEN : MSG_LEN;
            uint32_t flags = shorter ? IOCPH_COMPLETION_TRUNCATED : 0u;
            const uint8_t *got = l->udp_in + (size_t)i * MSG_LEN;
            /* Each datagram is MSG_LEN bytes of one send's pattern (its seed in byte 0). */
            if (c->result != (int64_t)want || c->flags != flags ||
                !test_check_fill(got + 1, want - 1, got[0]))
                fail_note("receive_from", id, c);
            if (shorter)
                atomic_fetch_add(&truncated_seen, 1);
            break;
        }
        case K_TCP_RECV:
            if (c->result <= 0 || c->result > MSG_LEN)
                fail_note("receive", id, c);
            else
                atomic_fetch_add(&l->tcp_received, (uint64_t)c->result);
            atomic_fetch_sub(&l->tcp_recv_outstanding, 1);
            break;
        default: break;
        }
        atomic_fetch_add(&l->completed, 1);
    }
}

static void start(lane *l, uint64_t id, int32_t rc)
{
    if (rc != IOCPH_OK) {
        fprintf(stderr, "start of %llx: %d (%s)\n", (unsigned long long)id, (int)rc,
                iocph_status_message(rc));
        atomic_fetch_add(&bad, 1);
        return;
    }
    atomic_fetch_add(&l->started, 1);
}

static void tcp_receive(lane *l, uint32_t t)
{
    uint32_t i = l->tcp_receives++;
    atomic_fetch_add(&l->tcp_recv_outstanding, 1);
    uint64_t id = UD(t, K_TCP_RECV, i);
    int32_t rc = iocph_socket_receive(l->tcp_rx, l->tcp_in + (size_t)i * MSG_LEN, MSG_LEN, 0, id,
                                      NULL);
    if (rc != IOCPH_OK)
        atomic_fetch_sub(&l->tcp_recv_outstanding, 1);
    start(l, id, rc);
}

static void wait_window(lane *l, uint64_t limit)
{
    uint64_t deadline = test_now_ms() + 20000;
    while (atomic_load(&l->started) - atomic_load(&l->completed) > limit) {
        if (test_now_ms() > deadline)
            test_fail(__FILE__, __LINE__, "lane stuck: %llu started, %llu completed",
                      (unsigned long long)atomic_load(&l->started),
                      (unsigned long long)atomic_load(&l->completed));
        test_sleep_ms(0);
    }
}

static void lane_main(void *arg)
{
    lane *l = arg;
    uint32_t t = (uint32_t)(l - lanes);
    for (uint32_t i = 0; i < ITER; i++) {
        wait_window(l, WINDOW);
        /* The receive first, so a datagram always finds one posted or queued to take it. */
        uint32_t len = i % 5 == 4 ? SHORT_LEN : MSG_LEN;
        uint64_t id = UD(t, K_UDP_RECV, i);
        start(l, id,
              iocph_udp_receive_from(l->udp_rx, l->udp_in + (size_t)i * MSG_LEN, len, NULL, 0, id,
                                     NULL));
        uint8_t *out = l->udp_out + (size_t)i * MSG_LEN;
        out[0] = (uint8_t)(i * 7u + t);
        test_fill(out + 1, MSG_LEN - 1, out[0]);
        id = UD(t, K_UDP_SEND, i);
        start(l, id, iocph_udp_send_to(l->udp_tx, out, MSG_LEN, &l->udp_rx_ep, 0, id, NULL));

        tcp_receive(l, t);
        out = l->tcp_out + (size_t)i * MSG_LEN;
        test_fill(out, MSG_LEN, i);
        id = UD(t, K_TCP_SEND, i);
        start(l, id, iocph_socket_send(l->tcp_tx, out, MSG_LEN, 0, id, NULL));
    }
    /* A stream may split what was sent in more pieces than there were receives: take the rest. */
    uint64_t deadline = test_now_ms() + 20000;
    while (atomic_load(&l->tcp_received) < (uint64_t)ITER * MSG_LEN) {
        if (test_now_ms() > deadline)
            test_fail(__FILE__, __LINE__, "lane %u: %llu of %llu TCP bytes", t,
                      (unsigned long long)atomic_load(&l->tcp_received),
                      (unsigned long long)ITER * MSG_LEN);
        if (atomic_load(&l->tcp_recv_outstanding) == 0 && l->tcp_receives < 2u * ITER)
            tcp_receive(l, t);
        test_sleep_ms(1);
    }
    wait_window(l, 0);
}

static void open_lane(iocph_port_t port, iocph_handle_t listener, const iocph_endpoint *tcp_ep,
                      uint32_t t)
{
    lane *l = &lanes[t];
    iocph_endpoint any = test_loopback(IOCPH_AF_INET, 0);
    CHECK_OK(iocph_udp_bind(port, &any, 0, 0, &l->udp_tx));
    CHECK_OK(iocph_udp_bind(port, &any, 0, 0, &l->udp_rx));
    CHECK_OK(iocph_socket_get_endpoint(l->udp_rx, IOCPH_ENDPOINT_LOCAL, &l->udp_rx_ep));
    iocph_accept_result ar;
    memset(&ar, 0, sizeof ar);
    uint64_t before = atomic_load(&setup_done);
    CHECK_OK(iocph_tcp_accept(listener, 0, &ar, 0, UD(t, K_SETUP, 0), NULL));
    CHECK_OK(iocph_tcp_connect(port, tcp_ep, NULL, 0, 0, UD(t, K_SETUP, 1), &l->tcp_tx, NULL));
    CHECK(test_wait_count(&setup_done, before + 2, 10000));
    CHECK_EQ(atomic_load(&bad), 0);
    l->tcp_rx = ar.socket;
    for (int k = 0; k < KINDS; k++) {
        l->done[k] = calloc(2u * ITER, sizeof *l->done[k]);
        CHECK(l->done[k] != NULL);
    }
    l->udp_out = malloc((size_t)ITER * MSG_LEN);
    l->udp_in = malloc((size_t)ITER * MSG_LEN);
    l->tcp_out = malloc((size_t)ITER * MSG_LEN);
    l->tcp_in = malloc((size_t)2 * ITER * MSG_LEN);
    CHECK(l->udp_out && l->udp_in && l->tcp_out && l->tcp_in);
}

int main(void)
{
    test_watchdog(100);
    iocph_port_t port = test_port_push(4, on_batch);
    iocph_endpoint tcp_ep = test_loopback(IOCPH_AF_INET, 0);
    iocph_handle_t listener;
    CHECK_OK(iocph_tcp_listen(port, &tcp_ep, 0, 0, 0, &listener));
    CHECK_OK(iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &tcp_ep));
    for (uint32_t t = 0; t < THREADS; t++)
        open_lane(port, listener, &tcp_ep, t);
    CHECK_OK(iocph_handle_close(listener));

    uint64_t t0 = test_now_ms();
    for (uint32_t t = 0; t < THREADS; t++)
        test_thread_start(&lanes[t].thread, lane_main, &lanes[t]);
    for (uint32_t t = 0; t < THREADS; t++)
        test_thread_join(&lanes[t].thread);
    uint64_t elapsed = test_now_ms() - t0;

    uint64_t ops = 0;
    for (uint32_t t = 0; t < THREADS; t++) {
        lane *l = &lanes[t];
        CHECK_EQ(atomic_load(&l->completed), atomic_load(&l->started));
        CHECK_EQ(atomic_load(&l->tcp_sent), (uint64_t)ITER * MSG_LEN);
        CHECK_EQ(atomic_load(&l->tcp_received), (uint64_t)ITER * MSG_LEN);
        for (uint32_t i = 0; i < ITER; i++) {
            CHECK_EQ(atomic_load(&l->done[K_UDP_SEND][i]), 1);
            CHECK_EQ(atomic_load(&l->done[K_UDP_RECV][i]), 1);
            CHECK_EQ(atomic_load(&l->done[K_TCP_SEND][i]), 1);
        }
        for (uint32_t i = 0; i < l->tcp_receives; i++)
            CHECK_EQ(atomic_load(&l->done[K_TCP_RECV][i]), 1);
        ops += atomic_load(&l->started);
    }
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&truncated_seen), (uint64_t)THREADS * (ITER / 5));
    for (uint32_t t = 0; t < THREADS; t++) {
        lane *l = &lanes[t];
        CHECK_OK(iocph_handle_close(l->udp_tx));
        CHECK_OK(iocph_handle_close(l->udp_rx));
        CHECK_OK(iocph_handle_close(l->tcp_tx));
        CHECK_OK(iocph_handle_close(l->tcp_rx));
    }
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    for (uint32_t t = 0; t < THREADS; t++) {
        for (int k = 0; k < KINDS; k++)
            free(lanes[t].done[k]);
        free(lanes[t].udp_out);
        free(lanes[t].udp_in);
        free(lanes[t].tcp_out);
        free(lanes[t].tcp_in);
    }
    printf("%llu operations on %d threads in %llu ms, each completed once\n",
           (unsigned long long)ops, THREADS, (unsigned long long)elapsed);
    return 0;
}
