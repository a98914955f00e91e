/*
 * epoll_echo_server.c - the floor of the TCP echo benchmark (issue 5, section 1): a plain
 * single-threaded epoll echo server with no library at all, the least a server can spend per
 * round trip on this kernel.
 *
 *   epoll_echo_server [--port P]      (127.0.0.1, port 0 = ephemeral; prints "listening on ...")
 *
 * Level-triggered: a readable connection is read once per wake-up (up to the buffer size) and the
 * bytes are written straight back. Only when the socket's send buffer is full does a connection
 * keep the rest and wait for EPOLLOUT, reading nothing meanwhile (so a client that stops reading
 * cannot make the server buffer without bound). SIGTERM / SIGINT end the loop and the process
 * exits 0 (the exit closes the connections still open: the client sees EOF).
 */
#include "bench_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The same size as native/examples/echo_server.c: a 64 KiB message usually fits in one read. */
#define BUFFER_SIZE 65536
#define MAX_EVENTS 256
#define LISTENER_TAG NULL /* the listener's epoll data; connections carry their struct */

typedef struct connection {
    int fd;
    uint32_t pending;  /* bytes received but not yet sent back */
    uint32_t offset;   /* where the unsent bytes start */
    char buffer[BUFFER_SIZE];
} connection;

static volatile sig_atomic_t stop_requested;
static long connections_open;

static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}

static void close_connection(int ep, connection *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
    connections_open--;
}

static void watch(int ep, connection *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void accept_all(int ep, int listener)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN: drained; anything else (EMFILE, ...): try again on the next wake-up */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        connection *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->pending = c->offset = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            continue;
        }
        connections_open++;
    }
}

/* Sends what is pending; returns -1 when the connection is gone. */
static int flush(int ep, connection *c)
{
    while (c->pending > 0) {
        ssize_t n = send(c->fd, c->buffer + c->offset, c->pending, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                watch(ep, c, EPOLLOUT); /* stop reading until the client has taken the echo */
                return 0;
            }
            return -1;
        }
        c->offset += (uint32_t)n;
        c->pending -= (uint32_t)n;
    }
    c->offset = 0;
    return 0;
}

static void on_connection(int ep, connection *c, uint32_t events)
{
    if (c->pending > 0) { /* waiting for EPOLLOUT */
        if (flush(ep, c) != 0) {
            close_connection(ep, c);
            return;
        }
        if (c->pending == 0)
            watch(ep, c, EPOLLIN);
        return;
    }
    ssize_t n = recv(c->fd, c->buffer, BUFFER_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) { /* 0: the client closed; < 0: reset */
        close_connection(ep, c);
        return;
    }
    c->pending = (uint32_t)n;
    c->offset = 0;
    if (flush(ep, c) != 0)
        close_connection(ep, c);
}

int main(int argc, char **argv)
{
    if (bench_flag(argc, argv, "-h") || bench_flag(argc, argv, "--help")) {
        printf("usage: epoll_echo_server [--port P]   (127.0.0.1; port 0 = ephemeral)\n");
        return 0;
    }
    int port = atoi(bench_arg(argc, argv, "--port", "0"));
    bench_raise_nofile();

    /* sigaction without SA_RESTART: the signal interrupts epoll_wait, which then sees the flag. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, SOMAXCONN) != 0 || getsockname(listener, (struct sockaddr *)&addr, &len) != 0) {
        fprintf(stderr, "epoll_echo_server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = LISTENER_TAG};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev) != 0) {
        fprintf(stderr, "epoll_echo_server: epoll: %s\n", strerror(errno));
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    while (!stop_requested) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "epoll_echo_server: epoll_wait: %s\n", strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == LISTENER_TAG)
                accept_all(ep, listener);
            else
                on_connection(ep, events[i].data.ptr, events[i].events);
        }
    }

    long left = connections_open;
    close(listener);
    close(ep);
    fprintf(stderr, "epoll_echo_server: stopped; %ld connections were open\n", left);
    return 0;
}
