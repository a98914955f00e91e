/*
 * bench_echo_client.c - the load generator of the TCP echo benchmark (issue 5, section 1).
 *
 *   bench_echo_client --connect 127.0.0.1:PORT [--conns N] [--size S] [--seconds T]
 *                     [--warmup W] [--server-pid PID]
 *
 * Closed loop on one thread with epoll: each of N connections sends an S-byte message and waits
 * for the whole echo before it sends the next, so N round trips are in flight at most and the
 * server's speed (not a send queue) sets the pace. Every echoed byte is checked against what was
 * sent (the first 8 bytes of each message carry its round number, so a stale or repeated echo is
 * caught too). After W seconds of warm-up (JIT tiers, caches, the server's pools) the client
 * measures T seconds and prints one JSON line:
 *
 *   {"round_trips":..,"seconds":..,"round_trips_per_sec":..,"p50_us":..,"p99_us":..,
 *    "client_cpu_us_per_rt":..,"server_cpu_us_per_rt":..}
 *
 * server_cpu_us_per_rt (only with --server-pid) is the server's user + system time over the
 * measured window, from /proc/PID/stat, per round trip: the fairest figure when this client
 * saturates its own core. Latency = from the first send of a message to its last echoed byte;
 * p50/p99 are nearest-rank over every round trip of the window. Any error (connect, reset, early
 * close, mismatch, no progress for 10 s) prints a message to stderr and exits 1.
 */
#include "bench_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 512
#define STALL_SECONDS 10.0
#define SCRATCH_SIZE 65536

typedef struct conn {
    int fd;
    uint32_t index;      /* for messages: which connection of the run */
    int want_out;        /* EPOLLOUT registered: the message did not fit in the send buffer */
    uint32_t sent;       /* bytes of the current message sent */
    uint32_t received;   /* bytes of its echo received */
    uint64_t round;      /* number of the current message */
    uint64_t started_ns; /* when its first byte went out */
    unsigned char *message;
} conn;

typedef struct samples {
    uint32_t *v; /* latencies in ns (capped at ~4.3 s) */
    size_t count, capacity;
} samples;

static uint32_t size;
static unsigned char scratch[SCRATCH_SIZE];

_Noreturn static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

_Noreturn static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench_echo_client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* utime + stime of the whole process PID (every thread), in seconds. */
static double process_cpu(long pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot read %s: %s (is the server running?)", path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    /* The command name (field 2) may hold spaces and parentheses: count fields after the last ')'. */
    char *p = strrchr(text, ')');
    unsigned long long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        die("cannot parse %s", path);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void watch(int ep, conn *c, int want_out)
{
    if (c->want_out == want_out)
        return;
    c->want_out = want_out;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0u), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        die("epoll_ctl: %s", strerror(errno));
}

static void send_rest(int ep, conn *c)
{
    while (c->sent < size) {
        ssize_t n = send(c->fd, c->message + c->sent, size - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch(ep, c, 1);
                return;
            }
            die("send on connection %u (round %" PRIu64 "): %s", c->index, c->round, strerror(errno));
        }
        c->sent += (uint32_t)n;
    }
    watch(ep, c, 0);
}

static void start_round(int ep, conn *c)
{
    c->round++;
    if (size >= sizeof c->round)
        memcpy(c->message, &c->round, sizeof c->round);
    c->sent = c->received = 0;
    c->started_ns = now_ns();
    send_rest(ep, c);
}

/* Reads what arrived and checks it; returns 1 when the whole echo is in. */
static int receive(conn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            die("receive on connection %u (round %" PRIu64 "): %s", c->index, c->round, strerror(errno));
        }
        if (n == 0)
            die("connection %u closed by the server in round %" PRIu64 " (%u of %u bytes echoed)",
                c->index, c->round, c->received, size);
        if (c->received + (uint64_t)n > c->sent)
            die("connection %u: %u bytes echoed but only %u sent (round %" PRIu64 ")", c->index,
                c->received + (uint32_t)n, c->sent, c->round);
        if (memcmp(scratch, c->message + c->received, (size_t)n) != 0) {
            size_t at = 0;
            while (scratch[at] == c->message[c->received + at])
                at++;
            die("connection %u: echo differs at byte %zu of round %" PRIu64, c->index, c->received + at, c->round);
        }
        c->received += (uint32_t)n;
        if (c->received == size)
            return 1;
    }
}

static void record(samples *s, uint64_t ns)
{
    if (s->count == s->capacity) {
        s->capacity = s->capacity ? s->capacity * 2 : 1 << 16;
        s->v = realloc(s->v, s->capacity * sizeof *s->v);
        if (!s->v)
            die("out of memory for latency samples");
    }
    s->v[s->count++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank of a sorted array, in microseconds. */
static double percentile_us(const samples *s, double p)
{
    if (s->count == 0)
        return 0;
    size_t rank = (size_t)(p * (double)s->count + 0.999999);
    return (double)s->v[rank == 0 ? 0 : rank - 1] / 1000.0;
}

static int connect_one(const struct sockaddr_in *to, int ep, conn *c, uint32_t index)
{
    /* Blocking connect (loopback answers at once), then non-blocking for the loop. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof *to) != 0)
        die("connection %u of the run: connect to %s:%u: %s", index, inet_ntoa(to->sin_addr),
            (unsigned)ntohs(to->sin_port), strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
    c->fd = fd;
    c->index = index;
    c->message = malloc(size);
    if (!c->message)
        die("out of memory");
    for (uint32_t i = 0; i < size; i++) /* different bytes per connection: crossed echoes show */
        c->message[i] = (unsigned char)(i * 131u + index * 7u + 1u);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
    const char *target = bench_arg(argc, argv, "--connect", NULL);
    if (!target || bench_flag(argc, argv, "-h") || bench_flag(argc, argv, "--help")) {
        fprintf(stderr, "usage: bench_echo_client --connect 127.0.0.1:PORT [--conns N] [--size S] "
                        "[--seconds T] [--warmup W] [--server-pid PID]\n");
        return 2;
    }
    long conns = atol(bench_arg(argc, argv, "--conns", "64"));
    long size_arg = atol(bench_arg(argc, argv, "--size", "64"));
    double seconds = atof(bench_arg(argc, argv, "--seconds", "2"));
    double warmup = atof(bench_arg(argc, argv, "--warmup", "0.5"));
    long server_pid = atol(bench_arg(argc, argv, "--server-pid", "0"));
    if (conns < 1 || conns > 100000 || size_arg < 1 || size_arg > (1L << 30) || seconds <= 0 || warmup < 0) {
        fprintf(stderr, "bench_echo_client: bad --conns, --size, --seconds or --warmup\n");
        return 2;
    }
    size = (uint32_t)size_arg;

    struct sockaddr_in to = {.sin_family = AF_INET};
    char host[64];
    const char *colon = strrchr(target, ':');
    if (!colon || (size_t)(colon - target) >= sizeof host) {
        fprintf(stderr, "bench_echo_client: --connect wants ADDRESS:PORT, got %s\n", target);
        return 2;
    }
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = 0;
    to.sin_port = htons((uint16_t)atoi(colon + 1));
    if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
        fprintf(stderr, "bench_echo_client: not an IPv4 address: %s\n", host);
        return 2;
    }

    bench_raise_nofile();
    int ep = epoll_create1(EPOLL_CLOEXEC);
    conn *all = calloc((size_t)conns, sizeof *all);
    if (ep < 0 || !all)
        die("setup: %s", strerror(errno));
    for (long i = 0; i < conns; i++)
        if (connect_one(&to, ep, &all[i], (uint32_t)i) != 0)
            die("epoll_ctl: %s", strerror(errno));

    samples lat = {0};
    uint64_t round_trips = 0;
    int measuring = 0;
    double server_cpu0 = 0, client_cpu0 = 0;
    uint64_t begin = now_ns(), t0 = 0, t1 = 0, last_progress = begin;
    uint64_t warm_end = begin + (uint64_t)(warmup * 1e9), measure_end = 0;
    for (long i = 0; i < conns; i++)
        start_round(ep, &all[i]);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, 100);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            conn *c = events[i].data.ptr;
            if (events[i].events & EPOLLOUT)
                send_rest(ep, c);
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                if (receive(c)) {
                    uint64_t done = now_ns();
                    if (measuring) {
                        round_trips++;
                        record(&lat, done - c->started_ns);
                    }
                    last_progress = done;
                    start_round(ep, c);
                }
            }
        }
        uint64_t t = now_ns();
        if (!measuring && t >= warm_end) {
            measuring = 1;
            server_cpu0 = server_pid ? process_cpu(server_pid) : 0;
            client_cpu0 = bench_cpu();
            t0 = now_ns();
            measure_end = t0 + (uint64_t)(seconds * 1e9);
        } else if (measuring && t >= measure_end) {
            t1 = t;
            break;
        }
        if ((double)(t - last_progress) / 1e9 > STALL_SECONDS)
            die("no echo completed for %.0f s (%ld connections, %u bytes)", STALL_SECONDS, conns, size);
    }
    double elapsed = (double)(t1 - t0) / 1e9;
    double server_cpu = server_pid ? process_cpu(server_pid) - server_cpu0 : 0;
    double client_cpu = bench_cpu() - client_cpu0;
    for (long i = 0; i < conns; i++) {
        close(all[i].fd);
        free(all[i].message);
    }
    free(all);
    close(ep);
    if (round_trips == 0)
        die("no round trip completed in the %.2f s window", elapsed);

    qsort(lat.v, lat.count, sizeof *lat.v, by_value);
    double rt = (double)round_trips;
    printf("{\"conns\":%ld,\"size\":%u,\"round_trips\":%" PRIu64 ",\"seconds\":%.6f,"
           "\"round_trips_per_sec\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"client_cpu_us_per_rt\":%.3f",
           conns, size, round_trips, elapsed, rt / elapsed, percentile_us(&lat, 0.50),
           percentile_us(&lat, 0.99), client_cpu * 1e6 / rt);
    if (server_pid)
        printf(",\"server_cpu_us_per_rt\":%.3f", server_cpu * 1e6 / rt);
    printf("}\n");
    fflush(stdout);
    free(lat.v);
    return 0;
}
