/*
 * bench_sock_pair - one TCP connection over loopback with both ends on one port: a --size byte
 * message (default 64) is sent on one end and received on the other, one message in flight.
 *
 *   bench_sock_pair [--size B] [--seconds S | --ops N]
 *
 * One operation = one iocph_socket_send and the iocph_socket_receive(s) that take its bytes on the
 * other end; this thread starts both and dequeues both completions (pull, 1 ring thread).
 * TCP_NODELAY on both ends. Prints one JSON line (bench_common.h).
 */
#include "bench_common.h"
#include "iocphybrid.h"

enum { TAG_SEND = 1, TAG_RECEIVE = 2, TAG_ACCEPT = 3, TAG_CONNECT = 4 };

static iocph_port_t g_port;

static int die(const char *what, int32_t rc)
{
    fprintf(stderr, "bench_sock_pair: %s: %s (%d)\n", what, iocph_status_message(rc), (int)rc);
    return 1;
}

/* Dequeues one completion. */
static int32_t next(iocph_completion *c)
{
    uint32_t n = 0;
    int32_t rc = iocph_port_dequeue(g_port, c, 1, 10000, &n);
    return rc != 0 ? rc : (n == 1 ? 0 : IOCPH_E_TIMEOUT);
}

int main(int argc, char **argv)
{
    uint32_t size = (uint32_t)atoi(bench_arg(argc, argv, "--size", "64"));
    double seconds = atof(bench_arg(argc, argv, "--seconds", "2"));
    uint64_t limit = strtoull(bench_arg(argc, argv, "--ops", "0"), NULL, 10);
    if (size == 0 || size > (1u << 20)) {
        fprintf(stderr, "usage: bench_sock_pair [--size B (1..1 MiB)] [--seconds S | --ops N]\n");
        return 2;
    }
    uint8_t *out = calloc(size, 1), *in = calloc(size, 1);
    if (!out || !in)
        return 1;

    iocph_port_options o;
    iocph_port_options_init(&o);
    o.worker_threads = 1;
    int32_t rc = iocph_port_create(&o, &g_port);
    if (rc)
        return die("iocph_port_create", rc);

    iocph_endpoint any = {.family = IOCPH_AF_INET, .address = {127, 0, 0, 1}}, bound;
    iocph_handle_t listener, client;
    if ((rc = iocph_tcp_listen(g_port, &any, 1, 0, 0, &listener)) != 0)
        return die("iocph_tcp_listen", rc);
    iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &bound);
    iocph_accept_result accepted;
    if ((rc = iocph_tcp_accept(listener, 0, &accepted, 10000, TAG_ACCEPT, NULL)) != 0)
        return die("iocph_tcp_accept", rc);
    if ((rc = iocph_tcp_connect(g_port, &bound, NULL, 0, 10000, TAG_CONNECT, &client, NULL)) != 0)
        return die("iocph_tcp_connect", rc);
    for (int i = 0; i < 2; i++) {
        iocph_completion c;
        if ((rc = next(&c)) != 0)
            return die("dequeue (connect)", rc);
        if (c.result != 0)
            return die(c.user_data == TAG_ACCEPT ? "accept" : "connect", (int32_t)c.result);
    }
    iocph_handle_t server = accepted.socket;
    iocph_socket_set_option(client, IOCPH_SOCKOPT_NO_DELAY, 1);
    iocph_socket_set_option(server, IOCPH_SOCKOPT_NO_DELAY, 1);

    double t0 = bench_now(), c0 = bench_cpu(), end = t0 + seconds;
    uint64_t ops = 0;
    for (;;) {
        if ((rc = iocph_socket_receive(server, in, size, 10000, TAG_RECEIVE, NULL)) != 0)
            return die("iocph_socket_receive", rc);
        if ((rc = iocph_socket_send(client, out, size, 10000, TAG_SEND, NULL)) != 0)
            return die("iocph_socket_send", rc);
        uint32_t received = 0;
        int sent = 0;
        while (!sent || received < size) {
            iocph_completion c;
            if ((rc = next(&c)) != 0)
                return die("iocph_port_dequeue", rc);
            if (c.result <= 0)
                return die(c.user_data == TAG_SEND ? "send" : "receive (0: closed)", (int32_t)c.result);
            if (c.user_data == TAG_SEND) {
                sent = 1;
                continue;
            }
            received += (uint32_t)c.result;
            if (received < size &&
                (rc = iocph_socket_receive(server, in + received, size - received, 10000,
                                           TAG_RECEIVE, NULL)) != 0)
                return die("iocph_socket_receive", rc);
        }
        ops++;
        if (limit ? ops >= limit : ((ops & 63) == 0 && bench_now() >= end))
            break;
    }
    double t = bench_now(), c = bench_cpu();
    bench_report(ops, t - t0, c - c0);
    iocph_handle_close(client);
    iocph_handle_close(server);
    iocph_handle_close(listener);
    iocph_port_shutdown(g_port, 10000);
    iocph_port_destroy(g_port);
    free(out);
    free(in);
    return 0;
}
