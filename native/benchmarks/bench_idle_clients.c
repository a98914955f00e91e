/*
 * bench_idle_clients - holds N idle TCP connections to 127.0.0.1:PORT for the idle-connection
 * benchmark (issue 5, section 5; protocol in bench_idle.h).
 *
 *   bench_idle_clients --port P --conns N
 *
 * Connects N sockets (plain blocking connects: the server only has to accept them), prints
 * {"event":"connected",...} and then sends nothing. On a "send" line on stdin it sends one byte on
 * every connection, which completes the server's pending receives so the server can prove they
 * were pending. stdin closed or SIGTERM: closes everything and exits 0.
 */
#include "bench_idle.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define USAGE "bench_idle_clients --port P --conns N"

static volatile sig_atomic_t g_stop;

static void on_sigterm(int sig)
{
    (void)sig;
    g_stop = 1;
}

static int connect_one(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int one = 1; /* the final single bytes go out at once, not after Nagle's delay */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Reads one line from stdin; returns 0 at EOF, on error or when SIGTERM arrived (EINTR). */
static int read_line(char *line, size_t size)
{
    size_t len = 0;
    while (len + 1 < size) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r <= 0)
            return 0;
        if (c == '\n')
            break;
        line[len++] = c;
    }
    line[len] = 0;
    return 1;
}

int main(int argc, char **argv)
{
    long port = idle_count_arg(argc, argv, "--port", "0", USAGE);
    long n = idle_count_arg(argc, argv, "--conns", "10000", USAGE);
    if (port > 65535) {
        fprintf(stderr, "usage: %s\n", USAGE);
        return 2;
    }
    idle_raise_fd_limit("bench_idle_clients", n);

    /* No SA_RESTART: a SIGTERM interrupts the blocking read of stdin and ends the program. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int *fds = malloc((size_t)n * sizeof *fds);
    if (!fds) {
        fprintf(stderr, "bench_idle_clients: out of memory\n");
        return 1;
    }
    for (long i = 0; i < n; i++) {
        fds[i] = connect_one((uint16_t)port);
        if (fds[i] < 0) {
            fprintf(stderr, "bench_idle_clients: connection %ld of %ld: %s\n", i + 1, n,
                    strerror(errno));
            return 1; /* the kernel closes the others */
        }
        if (g_stop)
            return 0;
    }
    idle_event("connected", n);

    int status = 0;
    char line[64];
    while (!g_stop && read_line(line, sizeof line)) {
        if (strcmp(line, "send") != 0)
            continue;
        char byte = IDLE_BYTE;
        for (long i = 0; i < n; i++) {
            if (send(fds[i], &byte, 1, MSG_NOSIGNAL) != 1) {
                fprintf(stderr, "bench_idle_clients: send on connection %ld: %s\n", i + 1,
                        strerror(errno));
                status = 1;
                break;
            }
        }
        if (status != 0)
            break;
        idle_event("sent", n);
    }

    for (long i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    return status;
}
