/*
 * bench_post - packets posted through the port (iocph_port_post) and delivered back, closed loop
 * with --window packets circulating.
 *
 *   bench_post --mode push|pull [--window N] [--seconds S | --ops N]
 *
 * push: one worker; its callback posts the next packet for every one it receives.
 * pull: this thread posts --window packets and, for each dequeued one, posts the next (1 ring thread).
 * Prints one JSON line (bench_common.h); ns_per_op is wall time per delivered packet.
 */
#include "bench_common.h"
#include "iocphybrid.h"

#include <stdatomic.h>

static iocph_port_t g_port;
static uint64_t g_limit;
static atomic_uint_fast64_t g_done;
static atomic_int g_stop;

static void on_completions(void *ctx, const iocph_completion *e, uint32_t n)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t done = atomic_fetch_add_explicit(&g_done, 1, memory_order_relaxed) + 1;
        if (atomic_load_explicit(&g_stop, memory_order_relaxed) || (g_limit && done >= g_limit))
            continue;
        int32_t rc = iocph_port_post(g_port, 0, e[i].user_data, e[i].result + 1);
        if (rc != 0 && !atomic_load(&g_stop)) { /* after the stop, shutdown may refuse it */
            fprintf(stderr, "iocph_port_post: %s\n", iocph_status_message(rc));
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    const char *mode = bench_arg(argc, argv, "--mode", "push");
    uint32_t window = (uint32_t)atoi(bench_arg(argc, argv, "--window", "1"));
    double seconds = atof(bench_arg(argc, argv, "--seconds", "2"));
    g_limit = strtoull(bench_arg(argc, argv, "--ops", "0"), NULL, 10);
    int push = strcmp(mode, "push") == 0;
    if (window == 0 || (!push && strcmp(mode, "pull") != 0)) {
        fprintf(stderr, "usage: bench_post --mode push|pull [--window N] [--seconds S | --ops N]\n");
        return 2;
    }
    iocph_port_options o;
    iocph_port_options_init(&o);
    o.worker_threads = 1;
    if (push)
        o.callback = on_completions;
    int32_t rc = iocph_port_create(&o, &g_port);
    if (rc) {
        fprintf(stderr, "iocph_port_create: %s\n", iocph_status_message(rc));
        return 1;
    }
    double t0 = bench_now(), c0 = bench_cpu(), end = t0 + seconds;
    for (uint32_t i = 0; i < window; i++)
        if (iocph_port_post(g_port, 0, i, 0) != 0)
            return 1;
    uint64_t ops = 0;
    if (push) {
        ops = bench_wait_push(&g_done, &g_stop, g_limit, end);
    } else {
        iocph_completion done[64];
        uint32_t inflight = window;
        int stopping = 0;
        while (inflight) {
            uint32_t n = 0;
            if ((rc = iocph_port_dequeue(g_port, done, 64, 10000, &n)) != 0) {
                fprintf(stderr, "iocph_port_dequeue: %s\n", iocph_status_message(rc));
                return 1;
            }
            for (uint32_t i = 0; i < n; i++) {
                ops++;
                inflight--;
                if (!stopping && (g_limit ? ops + inflight >= g_limit : ((ops & 255) == 0 && bench_now() >= end)))
                    stopping = 1;
                if (!stopping) {
                    if (iocph_port_post(g_port, 0, done[i].user_data, done[i].result + 1) != 0)
                        return 1;
                    inflight++;
                }
            }
        }
    }
    double t = bench_now(), c = bench_cpu();
    bench_report(ops, t - t0, c - c0);
    iocph_port_shutdown(g_port, 10000);
    iocph_port_destroy(g_port);
    return 0;
}
