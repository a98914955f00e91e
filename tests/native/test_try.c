/* Immediate attempts (iocph_socket_try_send / try_receive, iocph_file_try_read): they finish on
 * the calling thread or say IOCPH_E_WOULD_BLOCK having consumed nothing, never deliver a
 * completion, check their arguments like the asynchronous operations, and combine with those
 * (try, then the asynchronous operation for the rest) without losing or reordering a byte.
 * io_uring must really complete what needs no wait; IOCP may decline (see the header) except a
 * receive of bytes that have arrived. io_uring declines on the worker that owns the handle. */
#include "test_util.h"

/* io_uring and epoll attempt for real (one nonblocking system call); IOCP declines sends and
 * file reads. Only io_uring declines on the worker that owns the handle. */
static int is_uring, attempts;

/* Polls try_receive until it stops saying WOULD_BLOCK (the bytes travel through loopback). */
static int32_t try_receive_soon(iocph_handle_t s, void *buf, uint32_t len, uint32_t *got)
{
    uint64_t deadline = test_now_ms() + 10000;
    int32_t rc;
    while ((rc = iocph_socket_try_receive(s, buf, len, got)) == IOCPH_E_WOULD_BLOCK &&
           test_now_ms() < deadline)
        test_sleep_ms(1);
    return rc;
}

static void sockets(iocph_port_t port)
{
    char buf[256];
    uint32_t n = 99;
    iocph_handle_t client, server;
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);

    /* Nothing has arrived: declines, touches nothing. */
    CHECK_STATUS(iocph_socket_try_receive(server, buf, sizeof buf, &n), IOCPH_E_WOULD_BLOCK);
    CHECK_EQ(n, 0);

    /* Send: io_uring sends at once; IOCP declines and the asynchronous send does it. */
    int32_t rc = iocph_socket_try_send(client, "hello", 5, &n);
    if (attempts) {
        CHECK_OK(rc);
        CHECK_EQ(n, 5);
    } else {
        CHECK_STATUS(rc, IOCPH_E_WOULD_BLOCK);
        CHECK_OK(iocph_socket_send(client, "hello", 5, 0, 1, NULL));
        CHECK_EQ(test_dequeue_one(port, 10000).result, 5);
    }
    /* Arrived bytes: every backend receives them here. */
    memset(buf, 0, sizeof buf);
    CHECK_OK(try_receive_soon(server, buf, sizeof buf, &n));
    CHECK_EQ(n, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    test_expect_nothing(port, 20); /* no completion for either */

    /* A receive shorter than what arrived leaves the rest for the next one, in order. */
    CHECK_OK(iocph_socket_send(client, "abcdef", 6, 0, 2, NULL));
    CHECK_EQ(test_dequeue_one(port, 10000).result, 6);
    CHECK_OK(try_receive_soon(server, buf, 2, &n));
    CHECK_EQ(n, 2);
    CHECK(memcmp(buf, "ab", 2) == 0);
    CHECK_OK(iocph_socket_receive(server, buf, sizeof buf, 0, 3, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 3);
    CHECK_EQ(c.result, 4);
    CHECK(memcmp(buf, "cdef", 4) == 0);

    if (attempts) {
        /* Fill the send buffer: try_send ends with WOULD_BLOCK (a real "no room"), the
         * asynchronous send finishes once the peer reads, and every byte arrives in order. */
        static unsigned char out[1 << 16], in[1 << 16];
        for (size_t i = 0; i < sizeof out; i++)
            out[i] = (unsigned char)(i * 7 + 3);
        uint64_t total = 0;
        for (int rounds = 0;; rounds++) {
            CHECK(rounds < 100000);
            rc = iocph_socket_try_send(client, out + total % sizeof out,
                                       (uint32_t)(sizeof out - total % sizeof out), &n);
            if (rc == IOCPH_E_WOULD_BLOCK)
                break;
            CHECK_OK(rc);
            CHECK(n >= 1);
            total += n;
        }
        CHECK(total > 0);
        uint32_t rest = (uint32_t)(sizeof out - total % sizeof out);
        CHECK_OK(iocph_socket_send(client, out + total % sizeof out, rest, 0, 4, NULL));
        total += rest;
        /* Drain: receive until every byte arrived; the send's completion comes in between. */
        uint64_t received = 0;
        int send_done = 0, receive_pending = 0;
        while (received < total || !send_done) {
            if (!receive_pending && received < total) {
                CHECK_OK(iocph_socket_receive(server, in, sizeof in, 0, 5, NULL));
                receive_pending = 1;
            }
            c = test_dequeue_one(port, 10000);
            if (c.user_data == 4) {
                CHECK_EQ(c.result, rest);
                send_done = 1;
                continue;
            }
            CHECK_EQ(c.user_data, 5);
            receive_pending = 0;
            CHECK(c.result > 0);
            for (int64_t i = 0; i < c.result; i++)
                CHECK_EQ(in[i], (unsigned char)(((received + (uint64_t)i) % sizeof out) * 7 + 3));
            received += (uint64_t)c.result;
        }
    }

    /* After a half-close, try_send fails like a send (io_uring) or declines (IOCP). */
    CHECK_OK(iocph_socket_shutdown_send(client));
    rc = iocph_socket_try_send(client, "x", 1, &n);
    CHECK(rc == (attempts ? IOCPH_E_BROKEN_PIPE : IOCPH_E_WOULD_BLOCK));

    /* The peer closed: io_uring reports the end (0) at once; IOCP leaves it to the receive. */
    rc = attempts ? try_receive_soon(server, buf, sizeof buf, &n)
                  : iocph_socket_try_receive(server, buf, sizeof buf, &n);
    if (attempts) {
        CHECK_OK(rc);
        CHECK_EQ(n, 0);
    } else {
        CHECK_STATUS(rc, IOCPH_E_WOULD_BLOCK);
    }

    /* Bad arguments and handles. */
    CHECK_STATUS(iocph_socket_try_send(server, NULL, 1, &n), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_try_send(server, "x", 0, &n), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_socket_try_receive(server, buf, sizeof buf, NULL), IOCPH_E_INVALID_ARGUMENT);
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
    CHECK_STATUS(iocph_socket_try_receive(listener, buf, sizeof buf, &n), IOCPH_E_BADHANDLE);
    CHECK_OK(iocph_handle_close(listener));
    CHECK_OK(iocph_handle_close(client));
    CHECK_STATUS(iocph_socket_try_send(client, "x", 1, &n), IOCPH_E_BADHANDLE);
    CHECK_OK(iocph_handle_close(server));
}

static void files(iocph_port_t port)
{
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "try");
    test_path(path, sizeof path, dir, "data.bin");
    static unsigned char data[3 * 4096 + 100], buf[8192];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 13 + 1);
    test_write_file(path, data, sizeof data); /* just written: its pages are cached */

    iocph_handle_t f;
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 7, &f));
    uint32_t n = 99;
    int32_t rc = iocph_file_try_read(f, buf, 4096, 4096, &n);
    if (attempts) {
        CHECK_OK(rc);
        CHECK_EQ(n, 4096);
        CHECK(memcmp(buf, data + 4096, 4096) == 0);
        /* Across the end: only what is there; past the end: 0. */
        CHECK_OK(iocph_file_try_read(f, buf, 8192, 3 * 4096, &n));
        CHECK_EQ(n, 100);
        CHECK(memcmp(buf, data + 3 * 4096, 100) == 0);
        CHECK_OK(iocph_file_try_read(f, buf, 10, sizeof data + 5, &n));
        CHECK_EQ(n, 0);
    } else {
        CHECK_STATUS(rc, IOCPH_E_WOULD_BLOCK);
        CHECK_EQ(n, 0);
    }
    test_expect_nothing(port, 20);
    CHECK_STATUS(iocph_file_try_read(f, NULL, 10, 0, &n), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_file_try_read(f, buf, 10, (uint64_t)INT64_MAX + 1, &n),
                 IOCPH_E_INVALID_ARGUMENT);
    CHECK_OK(iocph_handle_close(f));
    CHECK_STATUS(iocph_file_try_read(f, buf, 10, 0, &n), IOCPH_E_BADHANDLE);

    /* Opened for writing only: refused, as a read would be. */
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_WRITE, 7, &f));
    CHECK_STATUS(iocph_file_try_read(f, buf, 10, 0, &n), IOCPH_E_ACCESS_DENIED);
    CHECK_OK(iocph_handle_close(f));

    /* Unbuffered: nothing is cached, so it always declines (after the alignment rule). */
    if (iocph_file_open(port, path, IOCPH_FILE_READ | IOCPH_FILE_UNBUFFERED, 7, &f) == IOCPH_OK) {
        CHECK_STATUS(iocph_file_try_read(f, buf, 10, 0, &n), IOCPH_E_ALIGNMENT);
        CHECK_STATUS(iocph_file_try_read(f, buf, 4096, 0, &n),
                     ((uintptr_t)buf % IOCPH_UNBUFFERED_ALIGNMENT) ? IOCPH_E_ALIGNMENT
                                                                    : IOCPH_E_WOULD_BLOCK);
        CHECK_OK(iocph_handle_close(f));
    }
    test_remove_file(path);
    test_remove_dir(dir);
}

/* From inside a push port's callback (the worker thread), on a file of that port and on a socket
 * of another port. io_uring: the file's attempt declines, since that worker owns the file and a
 * read started there is submitted with its next batch at no system call of its own; the other
 * port's socket is attempted as from any thread. epoll attempts both. IOCP declines sends and
 * file reads anyway. */
static struct {
    iocph_handle_t file, socket;
    int32_t read_rc, send_rc;
    uint32_t read_n, send_n;
    _Atomic uint64_t calls;
} owner;

static void owner_callback(void *ctx, const iocph_completion *e, uint32_t n)
{
    (void)ctx;
    (void)e;
    static unsigned char buf[4096];
    for (uint32_t i = 0; i < n; i++) {
        owner.read_rc = iocph_file_try_read(owner.file, buf, sizeof buf, 0, &owner.read_n);
        owner.send_rc = iocph_socket_try_send(owner.socket, "z", 1, &owner.send_n);
        atomic_fetch_add(&owner.calls, 1);
    }
}

static void on_owning_worker(iocph_port_t other)
{
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "try-owner");
    test_path(path, sizeof path, dir, "data.bin");
    static unsigned char data[4096];
    memset(data, 5, sizeof data);
    test_write_file(path, data, sizeof data); /* cached: from any other thread it would be read */

    iocph_port_t port = test_port_push(1, owner_callback);
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 1, &owner.file));
    iocph_handle_t server;
    test_tcp_pair(other, IOCPH_AF_INET, &owner.socket, &server);

    CHECK_OK(iocph_port_post(port, 0, 1, 0));
    CHECK(test_wait_count(&owner.calls, 1, 10000));
    if (attempts && !is_uring) {
        /* epoll: an attempt costs the worker one system call, the file op instead a trip
         * through the blocking pool: it reads. */
        CHECK_OK(owner.read_rc);
        CHECK_EQ(owner.read_n, sizeof data);
    } else {
        CHECK_STATUS(owner.read_rc, IOCPH_E_WOULD_BLOCK);
        CHECK_EQ(owner.read_n, 0);
    }
    if (attempts) {
        CHECK_OK(owner.send_rc);
        CHECK_EQ(owner.send_n, 1);
        char b[4];
        uint32_t got = 0;
        CHECK_OK(try_receive_soon(server, b, sizeof b, &got));
        CHECK_EQ(got, 1);
        CHECK_EQ(b[0], 'z');
        /* The same file from this thread: read at once. */
        static unsigned char buf[4096];
        CHECK_OK(iocph_file_try_read(owner.file, buf, sizeof buf, 0, &got));
        CHECK_EQ(got, sizeof buf);
        CHECK(memcmp(buf, data, sizeof buf) == 0);
    } else {
        CHECK_STATUS(owner.send_rc, IOCPH_E_WOULD_BLOCK);
    }
    CHECK_OK(iocph_handle_close(owner.file));
    CHECK_OK(iocph_handle_close(owner.socket));
    CHECK_OK(iocph_handle_close(server));
    CHECK_OK(iocph_port_shutdown(port, 10000));
    CHECK_OK(iocph_port_destroy(port));
    test_remove_file(path);
    test_remove_dir(dir);
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);
    int32_t backend = 0;
    CHECK_OK(iocph_port_get_backend(port, &backend));
    is_uring = backend == IOCPH_BACKEND_IO_URING;
    attempts = is_uring || backend == IOCPH_BACKEND_EPOLL;
    sockets(port);
    files(port);
    on_owning_worker(port);
    test_check_stats_idle_at(port, __FILE__, __LINE__);

    /* After shutdown: refused like every start. */
    iocph_handle_t client, server;
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
    CHECK_OK(iocph_port_shutdown(port, 10000));
    char b[4];
    uint32_t n;
    int32_t rc = iocph_socket_try_receive(server, b, sizeof b, &n);
    CHECK(rc == IOCPH_E_SHUTDOWN || rc == IOCPH_E_BADHANDLE);
    CHECK_OK(iocph_port_destroy(port));
    printf("test_try: ok (%s)\n", iocph_backend_name(backend));
    return 0;
}
