/* Races on sockets: two threads start receives, sends (some with timeouts) and cancels on a
 * connected pair while the main thread closes both ends at a varying moment. Whatever the
 * interleaving, every operation that was accepted completes exactly once, none that was refused
 * completes, results are only data counts or the expected error codes, and the port ends idle. */
#include "test_util.h"

#define ROUNDS 150
#define PER_THREAD 8
#define PER_ROUND (2 * PER_THREAD + 2) /* + accept and connect */
#define MAX_IDS (ROUNDS * PER_ROUND)

static _Atomic uint32_t completed[MAX_IDS], started[MAX_IDS];
static _Atomic uint64_t total_completed, total_started, bad;
static int64_t results[MAX_IDS];

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t id = entries[i].user_data;
        int64_t r = entries[i].result;
        if (id >= MAX_IDS) {
            atomic_fetch_add(&bad, 1);
            continue;
        }
        results[id] = r;
        if (r < 0 && r != IOCPH_E_CANCELED && r != IOCPH_E_TIMEOUT &&
            r != IOCPH_E_CONNECTION_RESET && r != IOCPH_E_BROKEN_PIPE &&
            r != IOCPH_E_CONNECTION_ABORTED) {
            fprintf(stderr, "op %llu: unexpected %lld (%s, os error %d)\n", (unsigned long long)id,
                    (long long)r, iocph_status_message((int32_t)r), (int)entries[i].os_error);
            atomic_fetch_add(&bad, 1);
        }
        atomic_fetch_add(&completed[id], 1);
        atomic_fetch_add(&total_completed, 1);
    }
}

static void note(uint64_t id, int32_t rc)
{
    if (rc == IOCPH_OK) {
        atomic_fetch_add(&started[id], 1);
        atomic_fetch_add(&total_started, 1);
    } else if (rc != IOCPH_E_BADHANDLE) {
        fprintf(stderr, "start of %llu: %d (%s)\n", (unsigned long long)id, (int)rc,
                iocph_status_message(rc));
        atomic_fetch_add(&bad, 1);
    }
}

typedef struct worker {
    iocph_handle_t socket;
    uint64_t base;
    int sends;
    uint8_t buf[PER_THREAD][64];
    test_thread thread;
} worker;

static void worker_main(void *arg)
{
    worker *w = arg;
    iocph_op_t ops[PER_THREAD];
    for (int i = 0; i < PER_THREAD; i++) {
        uint64_t id = w->base + (uint64_t)i;
        uint32_t timeout = (i % 3 == 0) ? (uint32_t)(1 + i) : 0;
        int32_t rc = w->sends
                         ? iocph_socket_send(w->socket, w->buf[i], sizeof w->buf[i], timeout, id,
                                             &ops[i])
                         : iocph_socket_receive(w->socket, w->buf[i], sizeof w->buf[i], timeout,
                                                id, &ops[i]);
        note(id, rc);
        if (rc == IOCPH_OK && (i % 2 == 1)) {
            rc = iocph_op_cancel(w->socket, ops[i]);
            if (rc != IOCPH_OK && rc != IOCPH_E_NOTPENDING && rc != IOCPH_E_BADHANDLE)
                atomic_fetch_add(&bad, 1);
        }
    }
}

int main(void)
{
    test_watchdog(100);
    iocph_port_t port = test_port_push(2, on_batch);
    iocph_endpoint ep = test_loopback(IOCPH_AF_INET, 0);
    iocph_handle_t listener;
    CHECK_OK(iocph_tcp_listen(port, &ep, 0, 0, 0, &listener));
    CHECK_OK(iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &ep));
    static worker workers[2];

    for (uint32_t round = 0; round < ROUNDS; round++) {
        uint64_t base = (uint64_t)round * PER_ROUND;
        iocph_accept_result ar;
        memset(&ar, 0, sizeof ar);
        iocph_handle_t client;
        note(base, iocph_tcp_accept(listener, 0, &ar, 0, base, NULL));
        note(base + 1, iocph_tcp_connect(port, &ep, NULL, 0, 0, base + 1, &client, NULL));
        CHECK(test_wait_count(&total_completed, atomic_load(&total_started), 10000));
        CHECK_EQ(results[base], 0);
        CHECK_EQ(results[base + 1], 0);
        /* Receives on the accepted end, sends from the client, all racing the closes. */
        workers[0].socket = ar.socket;
        workers[0].base = base + 2;
        workers[0].sends = 0;
        workers[1].socket = client;
        workers[1].base = base + 2 + PER_THREAD;
        workers[1].sends = 1;
        for (int i = 0; i < 2; i++)
            test_thread_start(&workers[i].thread, worker_main, &workers[i]);
        if (round % 3)
            test_sleep_ms(round % 3);
        if (round % 2)
            iocph_socket_set_option(ar.socket, IOCPH_SOCKOPT_LINGER, 0); /* close = reset */
        int32_t rc = iocph_handle_close(ar.socket);
        CHECK(rc == IOCPH_OK);
        rc = iocph_handle_close(client);
        CHECK(rc == IOCPH_OK);
        for (int i = 0; i < 2; i++)
            test_thread_join(&workers[i].thread);
    }

    /* Every accepted op completes, once. */
    uint64_t deadline = test_now_ms() + 20000;
    while (atomic_load(&total_completed) < atomic_load(&total_started) &&
           test_now_ms() < deadline)
        test_sleep_ms(5);
    test_sleep_ms(50); /* room for a duplicate to show up */
    for (uint32_t id = 0; id < MAX_IDS; id++) {
        uint32_t s = atomic_load(&started[id]), c = atomic_load(&completed[id]);
        if (s != c)
            test_fail(__FILE__, __LINE__, "op %u: started %u, completed %u", id, s, c);
    }
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_OK(iocph_handle_close(listener));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    printf("%llu operations, each completed once\n",
           (unsigned long long)atomic_load(&total_started));
    return 0;
}
