/*
 * bench_idle_iocph - IocpHybrid from C in the idle-connection benchmark (issue 5, section 5):
 * accepts N connections through the port and leaves exactly one receive pending on each, into a
 * 4 KiB buffer of its own, and measures its resident memory before (0 connections) and after
 * (all N receives pending). Protocol and exit codes: bench_idle.h.
 *
 *   bench_idle_iocph --conns N
 *
 * Pull mode with one ring (the port's defaults otherwise: queue_depth 256, so the operation pool
 * grows to N as a real server's would). The buffer is zeroed so that it is resident, as in every
 * other server (see bench_idle_epoll.c): the servers then differ only in what they keep beyond it.
 */
#include "bench_idle.h"
#include "iocphybrid.h"

#define USAGE "bench_idle_iocph --conns N"
#define ACCEPTS_OUTSTANDING 16
#define WAIT_MS 60000
#define TAG_ACCEPT (1ull << 63) /* user_data: accept slot index | TAG_ACCEPT, or connection index */

typedef struct connection {
    iocph_handle_t socket;
    int done; /* the final byte arrived */
    char *buffer;
} connection;

static iocph_accept_result g_accepts[ACCEPTS_OUTSTANDING];

static int fail(const char *what, int32_t status)
{
    fprintf(stderr, "bench_idle_iocph: %s: %s\n", what, iocph_status_message(status));
    return 1;
}

static int start_receive(connection *c, uint64_t index)
{
    return iocph_socket_receive(c->socket, c->buffer, IDLE_BUFFER_SIZE, 0, index, NULL);
}

int main(int argc, char **argv)
{
    long n = idle_count_arg(argc, argv, "--conns", "10000", USAGE);
    idle_raise_fd_limit("bench_idle_iocph", n);

    connection *conns = calloc((size_t)n, sizeof *conns);
    iocph_completion *entries = calloc(1024, sizeof *entries);
    if (!conns || !entries)
        return fail("calloc", IOCPH_E_NOMEM);

    iocph_port_options o;
    iocph_port_options_init(&o);
    o.worker_threads = 1;
    iocph_port_t port;
    int32_t rc = iocph_port_create(&o, &port);
    if (rc)
        return fail("iocph_port_create", rc);
    iocph_endpoint local = {.family = IOCPH_AF_INET, .port = 0, .address = {127, 0, 0, 1}};
    iocph_handle_t listener;
    if ((rc = iocph_tcp_listen(port, &local, 0, 0, 0, &listener)) != 0)
        return fail("iocph_tcp_listen", rc);
    iocph_endpoint bound;
    if ((rc = iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &bound)) != 0)
        return fail("iocph_socket_get_endpoint", rc);

    idle_settle();
    uint64_t rss_before = idle_rss_bytes();
    printf("{\"event\":\"listening\",\"port\":%u}\n", bound.port);
    fflush(stdout);

    /* Phase 1: accept N connections, a few accepts outstanding, never more than still needed. */
    long accepted = 0, outstanding = 0, completed = 0;
    for (uint64_t s = 0; s < ACCEPTS_OUTSTANDING && s < (uint64_t)n; s++, outstanding++)
        if ((rc = iocph_tcp_accept(listener, 0, &g_accepts[s], 0, s | TAG_ACCEPT, NULL)) != 0)
            return fail("iocph_tcp_accept", rc);
    while (accepted < n) {
        uint32_t k = 0;
        rc = iocph_port_dequeue(port, entries, 1024, WAIT_MS, &k);
        if (rc == IOCPH_E_TIMEOUT) {
            fprintf(stderr, "bench_idle_iocph: %ld of %ld connections after %d s\n", accepted, n,
                    WAIT_MS / 1000);
            return 1;
        }
        if (rc)
            return fail("iocph_port_dequeue", rc);
        for (uint32_t i = 0; i < k; i++) {
            if (!(entries[i].user_data & TAG_ACCEPT)) {
                fprintf(stderr, "bench_idle_iocph: a receive completed before the measurement "
                                "(result %lld)\n", (long long)entries[i].result);
                return 1;
            }
            if (entries[i].result != 0)
                return fail("accept", (int32_t)entries[i].result);
            uint64_t slot = entries[i].user_data & ~TAG_ACCEPT;
            connection *c = &conns[accepted];
            c->socket = g_accepts[slot].socket;
            c->buffer = malloc(IDLE_BUFFER_SIZE);
            if (!c->buffer)
                return fail("malloc", IOCPH_E_NOMEM);
            memset(c->buffer, 0, IDLE_BUFFER_SIZE);
            if ((rc = start_receive(c, (uint64_t)accepted)) != 0)
                return fail("iocph_socket_receive", rc);
            accepted++;
            outstanding--;
            if (accepted + outstanding < n) {
                if ((rc = iocph_tcp_accept(listener, 0, &g_accepts[slot], 0, slot | TAG_ACCEPT, NULL)))
                    return fail("iocph_tcp_accept", rc);
                outstanding++;
            }
        }
    }

    idle_settle();
    uint64_t rss_after = idle_rss_bytes();
    /* Every receive still in flight and none completed: the port holds exactly N operations. */
    iocph_port_stats st = {.size = sizeof st};
    uint32_t early = 0;
    if ((rc = iocph_port_get_stats(port, &st)) != 0)
        return fail("iocph_port_get_stats", rc);
    if (iocph_port_dequeue(port, entries, 1024, 0, &early) == 0 || st.ops_in_flight != (uint64_t)n) {
        fprintf(stderr, "bench_idle_iocph: %llu operations in flight, %u completed early; "
                        "expected %ld pending receives\n",
                (unsigned long long)st.ops_in_flight, early, n);
        return 1;
    }
    idle_event("pending", n);

    /* Phase 2: the client sends one byte on every connection; each receive completes with it. */
    while (completed < n) {
        uint32_t k = 0;
        rc = iocph_port_dequeue(port, entries, 1024, WAIT_MS, &k);
        if (rc == IOCPH_E_TIMEOUT) {
            fprintf(stderr, "bench_idle_iocph: %ld of %ld receives completed after %d s\n",
                    completed, n, WAIT_MS / 1000);
            return 1;
        }
        if (rc)
            return fail("iocph_port_dequeue", rc);
        for (uint32_t i = 0; i < k; i++) {
            uint64_t index = entries[i].user_data;
            connection *c = index < (uint64_t)n ? &conns[index] : NULL;
            if (!c || c->done || entries[i].result != 1 || c->buffer[0] != IDLE_BYTE) {
                fprintf(stderr, "bench_idle_iocph: receive %llu completed with %lld (%s), "
                                "expected 1 byte\n",
                        (unsigned long long)index, (long long)entries[i].result,
                        entries[i].result < 0 ? iocph_status_message((int32_t)entries[i].result) : "bytes");
                return 1;
            }
            c->done = 1;
            completed++;
        }
    }

    for (long i = 0; i < n; i++) {
        iocph_handle_close(conns[i].socket);
        free(conns[i].buffer);
    }
    iocph_handle_close(listener);
    if ((rc = iocph_port_destroy(port)) != 0)
        return fail("iocph_port_destroy", rc);
    free(conns);
    free(entries);
    idle_report(n, rss_before, rss_after);
    return 0;
}
