/* A C program that uses IocpHybrid as an outside project would: through the installed header and
 * library only (found with find_package(IocpHybrid CONFIG) or pkg-config). It creates a pull-mode
 * port, posts a packet, writes and reads back a file, sends bytes through a pipe and over TCP on
 * loopback, then shuts the port down. Exits 0 when every step worked, 1 at the first failure.
 * Built by tests/consumers/cmake/CMakeLists.txt and by ./build.sh test with pkg-config. */
#include <iocphybrid.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL(...)                                                                      \
    do {                                                                               \
        fprintf(stderr, "consumer: line %d: ", __LINE__);                              \
        fprintf(stderr, __VA_ARGS__);                                                  \
        fprintf(stderr, "\n");                                                         \
        exit(1);                                                                       \
    } while (0)
#define OK(call)                                                                       \
    do {                                                                               \
        int32_t s_ = (call);                                                           \
        if (s_ != IOCPH_OK)                                                            \
            FAIL("%s: %d (%s)", #call, (int)s_, iocph_status_message(s_));             \
    } while (0)

/* Waits (at most 10 s) for the next completion. Every step has one operation in flight, except
 * accept + connect, which take two completions in either order. */
static iocph_completion next(iocph_port_t port)
{
    iocph_completion c;
    uint32_t n = 0;
    OK(iocph_port_dequeue(port, &c, 1, 10000, &n));
    if (n != 1)
        FAIL("dequeued %u completions", (unsigned)n);
    return c;
}

static int64_t expect(iocph_port_t port, uint64_t user_data)
{
    iocph_completion c = next(port);
    if (c.user_data != user_data)
        FAIL("completion %llu, expected %llu", (unsigned long long)c.user_data,
             (unsigned long long)user_data);
    if (c.result < 0)
        FAIL("operation %llu: %lld (%s)", (unsigned long long)user_data, (long long)c.result,
             iocph_status_message((int32_t)c.result));
    return c.result;
}

int main(void)
{
    if (iocph_version() != IOCPH_VERSION)
        FAIL("library version %#x, header %#x", (unsigned)iocph_version(), (unsigned)IOCPH_VERSION);

    iocph_port_options o;
    OK(iocph_port_options_init(&o));
    o.worker_threads = 1; /* no callback: pull mode, this thread dequeues */
    iocph_port_t port;
    OK(iocph_port_create(&o, &port));
    int32_t backend = 0;
    OK(iocph_port_get_backend(port, &backend));
    printf("port on %s\n", iocph_backend_name(backend));

    /* A posted packet (PostQueuedCompletionStatus). */
    OK(iocph_port_post(port, 5, 1, 42));
    iocph_completion c = next(port);
    if (c.user_data != 1 || c.key != 5 || c.result != 42 || !(c.flags & IOCPH_COMPLETION_POSTED))
        FAIL("posted packet came back as %llu/%llu/%lld", (unsigned long long)c.user_data,
             (unsigned long long)c.key, (long long)c.result);
    printf("post: ok\n");

    /* A file: write, read back, compare. */
    const char *path = "iocphybrid-consumer.tmp";
    static const char text[] = "written through the installed library";
    char buf[64];
    iocph_handle_t file;
    OK(iocph_file_open(port, path, IOCPH_FILE_READ | IOCPH_FILE_WRITE | IOCPH_FILE_CREATE |
                                       IOCPH_FILE_TRUNCATE, 7, &file));
    OK(iocph_file_write(file, text, sizeof text, 0, 2, NULL));
    if (expect(port, 2) != (int64_t)sizeof text)
        FAIL("short file write");
    memset(buf, 0, sizeof buf);
    OK(iocph_file_read(file, buf, sizeof buf, 0, 3, NULL));
    if (expect(port, 3) != (int64_t)sizeof text || memcmp(buf, text, sizeof text) != 0)
        FAIL("file read back differs");
    OK(iocph_handle_close(file));
    remove(path);
    printf("file: ok\n");

    /* A pipe round trip. */
    iocph_handle_t rd, wr;
    OK(iocph_pipe_create(port, 8, &rd, &wr));
    OK(iocph_pipe_write(wr, "pipe", 4, 4, NULL));
    if (expect(port, 4) != 4)
        FAIL("short pipe write");
    memset(buf, 0, sizeof buf);
    int64_t got = 0;
    while (got < 4) {
        OK(iocph_pipe_read(rd, buf + got, (uint32_t)(4 - got), 5, NULL));
        int64_t r = expect(port, 5);
        if (r == 0)
            FAIL("pipe closed early");
        got += r;
    }
    if (memcmp(buf, "pipe", 4) != 0)
        FAIL("pipe data differs");
    OK(iocph_handle_close(rd));
    OK(iocph_handle_close(wr));
    printf("pipe: ok\n");

    /* TCP over loopback: listen, accept + connect, one message each way. */
    iocph_endpoint any;
    memset(&any, 0, sizeof any);
    any.family = IOCPH_AF_INET;
    any.address[0] = 127;
    any.address[3] = 1;
    iocph_handle_t listener, client;
    OK(iocph_tcp_listen(port, &any, 16, IOCPH_SOCKET_NONE, 9, &listener));
    iocph_endpoint bound;
    OK(iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &bound));
    if (bound.port == 0)
        FAIL("listener has no port");
    iocph_accept_result accepted;
    OK(iocph_tcp_accept(listener, 10, &accepted, 10000, 6, NULL));
    OK(iocph_tcp_connect(port, &bound, NULL, 11, 10000, 7, &client, NULL));
    for (int i = 0; i < 2; i++) {
        c = next(port);
        if ((c.user_data != 6 && c.user_data != 7) || c.result < 0)
            FAIL("accept/connect %llu: %lld (%s)", (unsigned long long)c.user_data,
                 (long long)c.result, iocph_status_message((int32_t)c.result));
    }
    iocph_handle_t server = accepted.socket;
    OK(iocph_socket_send(client, "ping", 4, 10000, 8, NULL));
    if (expect(port, 8) != 4)
        FAIL("short send");
    for (got = 0; got < 4;) {
        OK(iocph_socket_receive(server, buf + got, (uint32_t)(4 - got), 10000, 9, NULL));
        int64_t r = expect(port, 9);
        if (r == 0)
            FAIL("peer closed early");
        got += r;
    }
    if (memcmp(buf, "ping", 4) != 0)
        FAIL("tcp data differs");
    OK(iocph_socket_send(server, "pong", 4, 10000, 10, NULL));
    if (expect(port, 10) != 4)
        FAIL("short send");
    for (got = 0; got < 4;) {
        OK(iocph_socket_receive(client, buf + got, (uint32_t)(4 - got), 10000, 11, NULL));
        int64_t r = expect(port, 11);
        if (r == 0)
            FAIL("peer closed early");
        got += r;
    }
    if (memcmp(buf, "pong", 4) != 0)
        FAIL("tcp data differs");
    OK(iocph_handle_close(client));
    OK(iocph_handle_close(server));
    OK(iocph_handle_close(listener));
    printf("tcp: ok\n");

    OK(iocph_port_shutdown(port, 10000));
    OK(iocph_port_destroy(port));
    printf("consumer: every step passed\n");
    return 0;
}
