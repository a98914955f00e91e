/* Descriptor exhaustion (ulimit -n 64): with every descriptor of the process in use, creating a
 * port, pipe, file, listener, UDP socket or connection fails with IOCPH_E_TOO_MANY_HANDLES, an
 * accept with a connection waiting fails the same way (at the call or at its completion, exactly
 * once), an operation already pending is not disturbed, and everything works again once
 * descriptors are freed: the same port, a new port on the backend it would have had (a
 * momentary shortage is not remembered as "io_uring refused"), and the connection that waited
 * in the backlog is accepted. Linux only: Windows has no per-process handle limit a process can
 * lower (no RLIMIT_NOFILE equivalent; job objects limit memory and processes, not handles). */
#include "test_util.h"

#ifdef _WIN32
int main(void)
{
    test_skip("Windows has no per-process handle limit a test can lower (no RLIMIT_NOFILE); "
              "descriptor exhaustion is a Linux test");
}
#else

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>

#define LIMIT 64

static int fillers[LIMIT];
static int filler_count;

/* Takes every free descriptor below the limit. */
static void exhaust(void)
{
    for (;;) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            CHECK_EQ(errno, EMFILE);
            return;
        }
        CHECK(filler_count < LIMIT);
        fillers[filler_count++] = fd;
    }
}

static void release(void)
{
    while (filler_count > 0)
        close(fillers[--filler_count]);
}

static void expect_too_many(int32_t rc, const char *what)
{
    if (rc != IOCPH_E_TOO_MANY_HANDLES)
        test_fail(__FILE__, __LINE__, "%s returned %d (%s), expected IOCPH_E_TOO_MANY_HANDLES",
                  what, (int)rc, iocph_status_message(rc));
}

/* The backend a new port chose may not be the fallback for a reason that was only a shortage. */
static void check_backend_reason(iocph_port_t port)
{
    int32_t reason = -1, os_error = 0;
    CHECK_OK(iocph_port_get_backend_reason(port, &reason, &os_error));
    if (reason == IOCPH_REASON_IO_URING_FAILED && (os_error == EMFILE || os_error == ENFILE))
        test_fail(__FILE__, __LINE__, "the port fell back for want of descriptors: %s",
                  iocph_backend_reason_message(reason));
    CHECK(reason != IOCPH_REASON_IO_URING_FAILED);
}

int main(void)
{
    test_watchdog(60);
    /* valgrind keeps descriptors of its own below the limit a program sets (and reports a lower
     * hard limit): the counts this test relies on do not hold there. */
    if (test_under_valgrind())
        test_skip("valgrind reserves descriptors of its own under RLIMIT_NOFILE");
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = LIMIT;
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "fdex");
    test_path(path, sizeof path, dir, "f.bin");
    test_write_file(path, "x", 1);

    /* The process's first port, made with no descriptor free: a clear error, not a fallback. */
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.worker_threads = 1;
    iocph_port_t port = 0;
    exhaust();
    expect_too_many(iocph_port_create(&o, &port), "iocph_port_create");
    CHECK_EQ(port, 0);
    release();

    /* Descriptors back: the port is made, on the backend this process really gets. */
    test_create_port(&o, &port);
    check_backend_reason(port);

    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 8, &bound);
    iocph_handle_t client = 0, pr = 0, pw = 0;
    CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 3, 0, 100, &client, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 100);
    CHECK_EQ(c.result, 0); /* connected: the server side waits in the listener's backlog */
    CHECK_OK(iocph_pipe_create(port, 4, &pr, &pw));
    char pipe_buf[8];
    CHECK_OK(iocph_pipe_read(pr, pipe_buf, sizeof pipe_buf, 200, NULL));

    /* Out of descriptors. */
    exhaust();
    iocph_handle_t h = 0, h2 = 0;
    expect_too_many(iocph_pipe_create(port, 5, &h, &h2), "iocph_pipe_create");
    expect_too_many(iocph_file_open(port, path, IOCPH_FILE_READ, 5, &h), "iocph_file_open");
    iocph_endpoint any = test_loopback(IOCPH_AF_INET, 0);
    expect_too_many(iocph_tcp_listen(port, &any, 0, 0, 5, &h), "iocph_tcp_listen");
    expect_too_many(iocph_udp_bind(port, &any, 0, 5, &h), "iocph_udp_bind");
    expect_too_many(iocph_tcp_connect(port, &bound, NULL, 5, 0, 101, &h, NULL), "iocph_tcp_connect");
    CHECK_EQ(h, 0);
    iocph_port_t port2 = 0;
    expect_too_many(iocph_port_create(&o, &port2), "iocph_port_create (second)");
    /* The accept: refused at once, or started and completed once with the error. */
    iocph_accept_result ar;
    memset(&ar, 0, sizeof ar);
    int32_t rc = iocph_tcp_accept(listener, 6, &ar, 0, 300, NULL);
    if (rc == IOCPH_OK) {
        c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, 300);
        CHECK_EQ(c.result, IOCPH_E_TOO_MANY_HANDLES);
        CHECK_EQ(ar.socket, 0);
    } else {
        expect_too_many(rc, "iocph_tcp_accept");
    }
    /* The read started before still works: a write needs no new descriptor. */
    CHECK_OK(iocph_pipe_write(pw, "ping", 4, 201, NULL));
    int seen_read = 0, seen_write = 0;
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 10000);
        if (c.user_data == 200) {
            CHECK_EQ(c.result, 4);
            seen_read++;
        } else {
            CHECK_EQ(c.user_data, 201);
            CHECK_EQ(c.result, 4);
            seen_write++;
        }
    }
    CHECK_EQ(seen_read, 1);
    CHECK_EQ(seen_write, 1);
    CHECK(memcmp(pipe_buf, "ping", 4) == 0);
    test_expect_nothing(port, 50); /* nothing twice, nothing left over */

    /* Descriptors freed: the connection that waited is accepted, and everything works. */
    release();
    memset(&ar, 0, sizeof ar);
    CHECK_OK(iocph_tcp_accept(listener, 6, &ar, 0, 301, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 301);
    CHECK_EQ(c.result, 0);
    CHECK(ar.socket != 0);
    char got[4];
    CHECK_OK(iocph_socket_send(client, "pong", 4, 0, 400, NULL));
    CHECK_OK(iocph_socket_receive(ar.socket, got, sizeof got, 5000, 401, NULL));
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 10000);
        CHECK(c.user_data == 400 || c.user_data == 401);
        CHECK(c.result > 0);
    }
    CHECK(memcmp(got, "pong", 1) == 0);
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 5, &h));
    CHECK_OK(iocph_handle_close(h));
    test_create_port(&o, &port2);
    check_backend_reason(port2);
    CHECK_OK(iocph_port_destroy(port2));

    CHECK_OK(iocph_handle_close(ar.socket));
    CHECK_OK(iocph_handle_close(client));
    CHECK_OK(iocph_handle_close(listener));
    CHECK_OK(iocph_handle_close(pr));
    CHECK_OK(iocph_handle_close(pw));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    test_remove_file(path);
    test_remove_dir(dir);
    printf("limit %d: every create refused with IOCPH_E_TOO_MANY_HANDLES, recovered after\n",
           LIMIT);
    return 0;
}
#endif
