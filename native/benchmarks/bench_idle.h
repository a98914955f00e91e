/*
 * bench_idle.h - shared bits of the idle-connection programs (issue 5, section 5): the server
 * programs (bench_idle_iocph, bench_idle_epoll) and the client that holds the connections
 * (bench_idle_clients). The harness (Cases.Idle.cs) drives them through stdout lines:
 *
 *   server: {"event":"listening","port":P}      baseline measured with 0 connections
 *   client: {"event":"connected","conns":N}     N connections open and idle
 *   server: {"event":"pending","conns":N}       N receives pending, memory measured
 *   harness -> client stdin: "send"             the client sends 1 byte on every connection
 *   client: {"event":"sent","conns":N}
 *   server: {"conns":N,...,"rss_bytes_per_conn":..}  every receive completed with that byte
 *
 * Exit codes: 0 done, 1 failure (message on stderr), 2 usage, 77 the descriptor limit can't hold
 * N connections (liburing's "skipped" code; the harness turns it into a skip).
 */
#ifndef IOCPH_BENCH_IDLE_H
#define IOCPH_BENCH_IDLE_H

#include "bench_common.h"

#include <errno.h>
#include <sys/resource.h>
#include <time.h>

#define IDLE_EXIT_SKIP 77
#define IDLE_BUFFER_SIZE 4096 /* one receive buffer per connection, the same in every server */
#define IDLE_BYTE 'x'         /* what the client sends on every connection at the end */
#define IDLE_FD_MARGIN 64     /* descriptors beyond N: stdio, listener, epoll/io_uring, ... */

/*
 * Raises the soft descriptor limit to the hard one and checks that n connections (plus a margin)
 * fit; exits with IDLE_EXIT_SKIP otherwise, because the machine, not the program, is the limit.
 */
static inline void idle_raise_fd_limit(const char *program, long n)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "%s: getrlimit(RLIMIT_NOFILE): %s\n", program, strerror(errno));
        exit(1);
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "%s: setrlimit(RLIMIT_NOFILE, %llu): %s\n", program,
                (unsigned long long)rl.rlim_max, strerror(errno));
        exit(IDLE_EXIT_SKIP);
    }
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)(n + IDLE_FD_MARGIN) > rl.rlim_cur) {
        fprintf(stderr,
                "%s: %ld connections need %ld descriptors, the hard limit is %llu "
                "(raise it: ulimit -Hn, /etc/security/limits.conf, or systemd LimitNOFILE)\n",
                program, n, n + IDLE_FD_MARGIN, (unsigned long long)rl.rlim_cur);
        exit(IDLE_EXIT_SKIP);
    }
}

/* Resident memory of this process (VmRSS in /proc/self/status), in bytes; 0 if unreadable. */
static inline uint64_t idle_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
            break;
    fclose(f);
    return (uint64_t)kib * 1024u;
}

/*
 * Waits before a measurement so that work started just before it (ring submissions, the kernel
 * finishing handshakes, lazily touched pages) has settled; the same pause in every program.
 */
static inline void idle_settle(void)
{
    struct timespec ts = {0, 500 * 1000000L};
    nanosleep(&ts, NULL);
}

/* A positive number from "--name value", or exits with the usage text. */
static inline long idle_count_arg(int argc, char **argv, const char *name, const char *def,
                                  const char *usage)
{
    char *end;
    long v = strtol(bench_arg(argc, argv, name, def), &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "usage: %s\n", usage);
        exit(2);
    }
    return v;
}

/* {"event":"<event>","conns":N}: a step of the protocol above. */
static inline void idle_event(const char *event, long conns)
{
    printf("{\"event\":\"%s\",\"conns\":%ld}\n", event, conns);
    fflush(stdout);
}

/* The result line: resident memory before (0 connections) and after (n receives pending). */
static inline void idle_report(long n, uint64_t rss_before, uint64_t rss_after)
{
    double per_conn = ((double)rss_after - (double)rss_before) / (double)n;
    printf("{\"conns\":%ld,\"rss_before\":%" PRIu64 ",\"rss_after\":%" PRIu64
           ",\"rss_bytes_per_conn\":%.1f}\n",
           n, rss_before, rss_after, per_conn);
    fflush(stdout);
}

#endif
