/* Races: one thread starts receives on a handle (a UDP socket, a TCP connection's accepted end,
 * a pipe's read end) while another closes it the moment the first one is started. Whatever the
 * interleaving, every receive that was accepted completes exactly once (cancelled: no data is
 * ever sent), and the port ends with nothing in flight and no handle open.
 *
 * The epoll worker once took new operations before cancel requests in each turn: a receive
 * pushed just before a close, but after the worker had taken its stack, met the close's
 * cancel-all before it reached its lane and then waited there forever (a 30-minute soak lost one
 * in 460,000). IOCPH_TEST_EPOLL_TAKE_DELAY_US widens that window so that this test reaches it
 * within a few rounds; other backends ignore it and run the same race. */
#include "test_util.h"

#ifndef _WIN32
#include <sched.h>
#endif

/* Under Wine a round costs some 10 ms (96 s for 10,000 on a loaded machine, against CTest's 120 s):
 * the IOCP backend runs the same race fewer times (the hook that widens epoll's window is epoll's). */
#ifdef _WIN32
#define ROUNDS 3000
#else
#define ROUNDS 10000
#endif
#define PER_ROUND 4 /* receives started per round, at most */
#define MAX_OPS ((uint64_t)ROUNDS * PER_ROUND)
#define SETUP_ID (MAX_OPS + 1) /* an accept or connect of a TCP round's setup */
#define TAKE_DELAY_US "10" /* microseconds: reached within a few rounds (0: some 20,000) */

enum { KIND_UDP, KIND_PIPE, KIND_TCP, KIND_COUNT };
static const char *const kind_names[KIND_COUNT] = {"udp", "pipe", "tcp"};

static iocph_port_t port;
static _Atomic uint32_t completed[MAX_OPS];
static uint32_t started[MAX_OPS]; /* the starting thread's alone */
static _Atomic uint64_t total_completed;
static _Atomic uint64_t setup_completed;
static _Atomic uint64_t bad;
static _Atomic int64_t bad_result;

/* The closer's side: the handle of the round in play, and whether its first receive started. */
static _Atomic iocph_handle_t target;
static _Atomic uint32_t first_started;
static _Atomic uint32_t closed_rounds;
static _Atomic uint32_t stop;

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t id = entries[i].user_data;
        int64_t r = entries[i].result;
        if (id == SETUP_ID) {
            if (r != 0) {
                atomic_store(&bad_result, r);
                atomic_fetch_add(&bad, 1);
            }
            atomic_fetch_add(&setup_completed, 1);
            continue;
        }
        if (id >= MAX_OPS || r != IOCPH_E_CANCELED) {
            atomic_store(&bad_result, r);
            atomic_fetch_add(&bad, 1);
        }
        if (id < MAX_OPS)
            atomic_fetch_add(&completed[id], 1);
        atomic_fetch_add(&total_completed, 1);
    }
}

static void yield_cpu(void)
{
#ifdef _WIN32
    SwitchToThread();
#else
    sched_yield();
#endif
}

/* Closes each round's target as soon as its first receive was accepted. */
static void closer(void *arg)
{
    (void)arg;
    for (;;) {
        iocph_handle_t h;
        while (!(h = atomic_load(&target)) || !atomic_load(&first_started)) {
            if (atomic_load(&stop))
                return;
            yield_cpu();
        }
        atomic_store(&first_started, 0);
        atomic_store(&target, 0);
        CHECK_OK(iocph_handle_close(h));
        atomic_fetch_add(&closed_rounds, 1);
    }
}

static void wait_setup(uint64_t expected, uint32_t round)
{
    if (!test_wait_count(&setup_completed, expected, 10000))
        test_fail(__FILE__, __LINE__, "round %u: tcp setup did not complete", round);
}

/* The round's target (closed by the closer) and its other end (closed here afterwards). */
static void make_handles(uint32_t round, int kind, iocph_handle_t listener,
                         const iocph_endpoint *bound, iocph_handle_t *h, iocph_handle_t *other)
{
    if (kind == KIND_UDP) {
        iocph_endpoint ep = test_loopback(IOCPH_AF_INET, 0);
        CHECK_OK(iocph_udp_bind(port, &ep, 0, 1, h));
        *other = 0;
    } else if (kind == KIND_PIPE) {
        CHECK_OK(iocph_pipe_create(port, 2, h, other));
    } else {
        static iocph_accept_result ar;
        memset(&ar, 0, sizeof ar);
        uint64_t before = atomic_load(&setup_completed);
        CHECK_OK(iocph_tcp_accept(listener, 3, &ar, 0, SETUP_ID, NULL));
        CHECK_OK(iocph_tcp_connect(port, bound, NULL, 4, 0, SETUP_ID, other, NULL));
        wait_setup(before + 2, round);
        CHECK(ar.socket != 0);
        *h = ar.socket;
    }
}

static int32_t start_receive(int kind, iocph_handle_t h, void *buffer, uint32_t length,
                             uint64_t id)
{
    static iocph_endpoint from[PER_ROUND];
    switch (kind) {
    case KIND_UDP:
        return iocph_udp_receive_from(h, buffer, length, &from[id % PER_ROUND], 0, id, NULL);
    case KIND_PIPE:
        return iocph_pipe_read(h, buffer, length, id, NULL);
    default:
        return iocph_socket_receive(h, buffer, length, 0, id, NULL);
    }
}

int main(void)
{
#ifdef _WIN32
    (void)TAKE_DELAY_US; /* an epoll hook: nothing to widen on IOCP */
#else
    setenv("IOCPH_TEST_EPOLL_TAKE_DELAY_US", TAKE_DELAY_US, 0); /* a run may set its own */
#endif
    test_watchdog(600);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 1;
    test_create_port(&o, &port);
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 64, &bound);
    test_thread closing;
    test_thread_start(&closing, closer, NULL);

    static uint8_t buffers[PER_ROUND][64];
    uint64_t total_started = 0;
    uint64_t per_kind[KIND_COUNT] = {0};
    for (uint32_t round = 0; round < ROUNDS; round++) {
        /* Two of five rounds UDP, two pipes, one TCP (its setup costs a connection). */
        int kind = (int)("\0\0\1\1\2"[round % 5]);
        iocph_handle_t h = 0, other = 0;
        make_handles(round, kind, listener, &bound, &h, &other);
        atomic_store(&target, h);
        for (uint32_t k = 0; k < PER_ROUND; k++) {
            uint64_t id = (uint64_t)round * PER_ROUND + k;
            int32_t rc = start_receive(kind, h, buffers[k], sizeof buffers[k], id);
            if (rc == IOCPH_E_BADHANDLE)
                break; /* closed already: refused, nothing to complete */
            if (rc != IOCPH_OK)
                test_fail(__FILE__, __LINE__, "round %u (%s): receive returned %d (%s)", round,
                          kind_names[kind], (int)rc, iocph_status_message(rc));
            started[id]++;
            total_started++;
            per_kind[kind]++;
            atomic_store(&first_started, 1);
        }
        while (atomic_load(&closed_rounds) != round + 1)
            yield_cpu();
        /* A receive lost by the close never completes: this round then stops here. */
        if (!test_wait_count(&total_completed, total_started, 10000)) {
            iocph_port_stats s;
            memset(&s, 0, sizeof s);
            s.size = sizeof s;
            CHECK_OK(iocph_port_get_stats(port, &s));
            test_fail(__FILE__, __LINE__,
                      "round %u (%s): %llu of %llu receives completed; in flight %llu, handles "
                      "open %llu",
                      round, kind_names[kind], (unsigned long long)atomic_load(&total_completed),
                      (unsigned long long)total_started, (unsigned long long)s.ops_in_flight,
                      (unsigned long long)s.handles_open);
        }
        if (other)
            CHECK_OK(iocph_handle_close(other));
    }
    atomic_store(&stop, 1);
    test_thread_join(&closing);
    CHECK_OK(iocph_handle_close(listener));
    test_sleep_ms(50); /* a duplicate completion would arrive late */
    if (atomic_load(&bad))
        test_fail(__FILE__, __LINE__, "%llu unexpected completions (last result %lld)",
                  (unsigned long long)atomic_load(&bad), (long long)atomic_load(&bad_result));
    CHECK_EQ(atomic_load(&total_completed), total_started);
    for (uint64_t i = 0; i < MAX_OPS; i++)
        if (atomic_load(&completed[i]) != started[i])
            test_fail(__FILE__, __LINE__, "receive %llu started %u times, completed %u times",
                      (unsigned long long)i, started[i], atomic_load(&completed[i]));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    printf("%u rounds: %llu udp, %llu pipe, %llu tcp receives raced with close, each completed "
           "exactly once\n",
           ROUNDS, (unsigned long long)per_kind[KIND_UDP], (unsigned long long)per_kind[KIND_PIPE],
           (unsigned long long)per_kind[KIND_TCP]);
    return 0;
}
