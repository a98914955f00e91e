/*
 * bench_idle_epoll - the floor of the idle-connection benchmark (issue 5, section 5): a plain
 * epoll server that accepts N connections, registers each for EPOLLIN with a 4 KiB buffer of its
 * own, and measures its resident memory before (0 connections) and after (all N registered).
 * Protocol and exit codes: bench_idle.h.
 *
 *   bench_idle_epoll --conns N
 *
 * "A receive pending" here is readiness: the fd waits in epoll and its buffer waits in memory.
 * The buffer is zeroed so that it is resident, as every managed buffer is (.NET zeroes new
 * arrays): the servers then differ only in what they keep beyond the buffer.
 */
#include "bench_idle.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "bench_idle_epoll --conns N"
#define WAIT_MS 60000 /* longest wait for the client's connections or bytes */

typedef struct connection {
    int fd;
    int done; /* the final byte arrived */
    char *buffer;
} connection;

static int fail(const char *what)
{
    fprintf(stderr, "bench_idle_epoll: %s: %s\n", what, strerror(errno));
    return 1;
}

static int listen_loopback(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    long n = idle_count_arg(argc, argv, "--conns", "10000", USAGE);
    idle_raise_fd_limit("bench_idle_epoll", n);

    connection *conns = calloc((size_t)n, sizeof *conns);
    struct epoll_event *events = calloc(1024, sizeof *events);
    uint16_t port = 0;
    int lfd = listen_loopback(&port);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!conns || !events)
        return fail("calloc");
    if (lfd < 0 || ep < 0)
        return fail("listen / epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0)
        return fail("epoll_ctl(listener)");

    idle_settle();
    uint64_t rss_before = idle_rss_bytes();
    printf("{\"event\":\"listening\",\"port\":%u}\n", port);
    fflush(stdout);

    /* Phase 1: accept N connections; any byte arriving now would be a protocol error. */
    long accepted = 0, completed = 0;
    while (accepted < n) {
        int k = epoll_wait(ep, events, 1024, WAIT_MS);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fprintf(stderr, "bench_idle_epoll: %ld of %ld connections after %d s\n", accepted, n,
                    WAIT_MS / 1000);
            return 1;
        }
        for (int i = 0; i < k; i++) {
            if (events[i].data.ptr != NULL) {
                fprintf(stderr, "bench_idle_epoll: data before the measurement\n");
                return 1;
            }
            while (accepted < n) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno == EAGAIN || errno == EINTR)
                        break;
                    return fail("accept4");
                }
                connection *c = &conns[accepted++];
                c->fd = fd;
                c->buffer = malloc(IDLE_BUFFER_SIZE);
                if (!c->buffer)
                    return fail("malloc");
                memset(c->buffer, 0, IDLE_BUFFER_SIZE);
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
                    return fail("epoll_ctl(connection)");
            }
        }
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, lfd, NULL);

    idle_settle();
    uint64_t rss_after = idle_rss_bytes();
    /* Nothing may be readable yet: a poll with timeout 0 proves every fd is still waiting. */
    if (epoll_wait(ep, events, 1024, 0) != 0) {
        fprintf(stderr, "bench_idle_epoll: a connection was readable before the client sent\n");
        return 1;
    }
    idle_event("pending", n);

    /* Phase 2: the client sends one byte on every connection; each must arrive, exactly one. */
    while (completed < n) {
        int k = epoll_wait(ep, events, 1024, WAIT_MS);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fprintf(stderr, "bench_idle_epoll: %ld of %ld receives completed after %d s\n",
                    completed, n, WAIT_MS / 1000);
            return 1;
        }
        for (int i = 0; i < k; i++) {
            connection *c = events[i].data.ptr;
            ssize_t r = recv(c->fd, c->buffer, IDLE_BUFFER_SIZE, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r != 1 || c->buffer[0] != IDLE_BYTE || c->done) {
                fprintf(stderr, "bench_idle_epoll: connection %ld received %zd bytes, expected 1\n",
                        (long)(c - conns) + 1, r);
                return 1;
            }
            c->done = 1;
            completed++;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        }
    }

    for (long i = 0; i < n; i++) {
        close(conns[i].fd);
        free(conns[i].buffer);
    }
    close(ep);
    close(lfd);
    free(conns);
    free(events);
    idle_report(n, rss_before, rss_after);
    return 0;
}
