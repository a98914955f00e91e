/* RLIMIT_MEMLOCK at zero (ulimit -l 0), set before the process's first port: kernels before 5.12
 * charge io_uring rings to it, so io_uring_setup fails with ENOMEM there. What the library
 * documents (backend_choice.c, IOCPH_REASON_IO_URING_MEMLOCK): a default port still works, on
 * io_uring where the kernel does not charge rings (5.12 and later), else on epoll with reason
 * MEMLOCK; a port that names io_uring is refused with IOCPH_E_UNSUPPORTED and that reason. */
#define _GNU_SOURCE
#include "test_util.h"

#include <sys/resource.h>
#include <sys/utsname.h>

/* Whether the running kernel is at least major.minor. */
static int kernel_at_least(int major, int minor)
{
    struct utsname u;
    CHECK_EQ(uname(&u), 0);
    int ma = 0, mi = 0;
    if (sscanf(u.release, "%d.%d", &ma, &mi) != 2)
        return 0;
    return ma > major || (ma == major && mi >= minor);
}

/* A byte through a pipe of the port: the port really works. */
static void check_port_works(iocph_port_t port)
{
    iocph_handle_t r, w;
    CHECK_OK(iocph_pipe_create(port, 1, &r, &w));
    char buf[4] = {0};
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 1, NULL));
    CHECK_OK(iocph_pipe_write(w, "m", 1, 2, NULL));
    for (int i = 0; i < 2; i++) {
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.result, 1);
    }
    CHECK_EQ(buf[0], 'm');
    CHECK_OK(iocph_handle_close(r));
    CHECK_OK(iocph_handle_close(w));
    test_check_stats_idle(port);
}

int main(void)
{
    test_watchdog(60);
    struct rlimit rl = {0, 0};
    CHECK_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
    const char *env = getenv("IOCPH_BACKEND");
    int forced_epoll = env && strcmp(env, "epoll") == 0;

    iocph_port_t port = test_port_pull(2); /* two rings on io_uring: twice the charge */
    int32_t backend = 0, reason = -1, os_error = 0;
    CHECK_OK(iocph_port_get_backend(port, &backend));
    CHECK_OK(iocph_port_get_backend_reason(port, &reason, &os_error));
    printf("memlock 0: %s (%s)\n", iocph_backend_name(backend), iocph_backend_reason_message(reason));
    if (forced_epoll) {
        CHECK_EQ(backend, IOCPH_BACKEND_EPOLL);
        CHECK_EQ(reason, IOCPH_REASON_FORCED);
    } else if (backend == IOCPH_BACKEND_EPOLL) {
        /* A fallback, for a reason; MEMLOCK only where the kernel charges rings. */
        CHECK(reason != IOCPH_REASON_NONE && reason != IOCPH_REASON_IO_URING_FAILED);
        if (reason == IOCPH_REASON_IO_URING_MEMLOCK)
            CHECK(!kernel_at_least(5, 12));
    } else {
        CHECK_EQ(backend, IOCPH_BACKEND_IO_URING);
        CHECK_EQ(reason, env && *env ? IOCPH_REASON_FORCED : IOCPH_REASON_NONE);
    }
    check_port_works(port);
    CHECK_OK(iocph_port_destroy(port));

    /* Naming io_uring: it runs, or is refused with the reason, never a half-made port. */
    int32_t probe_reason = -1;
    int32_t rc = iocph_backend_probe(IOCPH_BACKEND_IO_URING, &probe_reason, NULL);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.backend = IOCPH_BACKEND_IO_URING;
    o.worker_threads = 2;
    iocph_port_t named = 0;
    int32_t crc = iocph_port_create(&o, &named);
    if (rc == IOCPH_OK) {
        CHECK_OK(crc);
        check_port_works(named);
        CHECK_OK(iocph_port_destroy(named));
        if (kernel_at_least(5, 12) && !forced_epoll)
            CHECK_EQ(backend, IOCPH_BACKEND_IO_URING); /* the default took it too */
    } else {
        CHECK_STATUS(crc, IOCPH_E_UNSUPPORTED);
        CHECK_EQ(named, 0);
        if (probe_reason == IOCPH_REASON_IO_URING_MEMLOCK)
            CHECK(!kernel_at_least(5, 12));
    }
    return 0;
}
