/* More completions at once than a ring's CQ holds: about 10,000 pipe reads whose data is already
 * waiting, all taken by the ring in one loop (its thread is held in a callback while they are
 * started), on a port with a small queue_depth (a 64-entry SQ, a 4,096-entry CQ). Each read
 * completes inside its own submission, so the CQ fills long before the last SQE is handed over.
 * Every read must complete exactly once with its bytes.
 *
 * Twice: as the running kernel does it (an overflowed CQ is queued by the kernel), and with
 * IOCPH_TEST_URING_EBUSY=1, where the backend's SQ-full submission answers -EBUSY while the CQ
 * is full and completions have overflowed, as kernels before 5.19 did (uring_loop.c): the ring
 * must reap and retry, not spin on the submission. io_uring only. */
#include "test_util.h"

#ifndef _WIN32
#include <sys/resource.h>

enum { UD_BLOCK = 0xB10C, UD_POSTED = 0xF00D };
#define MAX_PIPES 10000u

static iocph_handle_t readers[MAX_PIPES], writers[MAX_PIPES];
static char bufs[MAX_PIPES][8];
static _Atomic uint32_t seen[MAX_PIPES];
static _Atomic uint64_t delivered, bad;
static _Atomic int blocked, released;

static void on_completions(void *ctx, const iocph_completion *e, uint32_t n)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++) {
        if (e[i].user_data == UD_BLOCK) {
            atomic_store(&blocked, 1);
            while (!atomic_load(&released))
                test_sleep_ms(1);
            continue;
        }
        if (e[i].user_data == UD_POSTED)
            continue;
        uint64_t ud = e[i].user_data;
        uint32_t index = (uint32_t)(ud & 0xFFFFFFFFu);
        /* writes: 1 << 32 | index, reads: 2 << 32 | index; both move 4 bytes */
        if (index >= MAX_PIPES || e[i].result != 4 || ((ud >> 32) != 1 && (ud >> 32) != 2))
            atomic_fetch_add(&bad, 1);
        else if ((ud >> 32) == 2)
            atomic_fetch_add(&seen[index], 1);
        atomic_fetch_add(&delivered, 1);
    }
}

static void run(uint32_t pipes, const char *ebusy)
{
    if (ebusy)
        setenv("IOCPH_TEST_URING_EBUSY", ebusy, 1);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.worker_threads = 1;
    o.queue_depth = 16;
    o.callback = on_completions;
    iocph_port_t port = 0;
    test_create_port(&o, &port);
    unsetenv("IOCPH_TEST_URING_EBUSY");

    atomic_store(&delivered, 0);
    atomic_store(&bad, 0);
    for (uint32_t i = 0; i < pipes; i++) {
        atomic_store(&seen[i], 0);
        CHECK_OK(iocph_pipe_create(port, i, &readers[i], &writers[i]));
    }
    /* The data first: every read finds its 4 bytes waiting. */
    for (uint32_t i = 0; i < pipes; i++)
        CHECK_OK(iocph_pipe_write(writers[i], "data", 4, ((uint64_t)1 << 32) | i, NULL));
    if (!test_wait_count(&delivered, pipes, 30000))
        test_fail(__FILE__, __LINE__, "writes: %llu of %u delivered",
                  (unsigned long long)atomic_load(&delivered), pipes);

    /* Hold the ring's thread while every read is queued, so it takes them all in one loop. */
    atomic_store(&blocked, 0);
    atomic_store(&released, 0);
    CHECK_OK(iocph_port_post(port, 0, UD_BLOCK, 0));
    uint64_t deadline = test_now_ms() + 5000;
    while (!atomic_load(&blocked)) {
        CHECK(test_now_ms() < deadline);
        test_sleep_ms(1);
    }
    for (uint32_t i = 0; i < pipes; i++)
        CHECK_OK(iocph_pipe_read(readers[i], bufs[i], sizeof bufs[i], ((uint64_t)2 << 32) | i, NULL));
    atomic_store(&released, 1);

    if (!test_wait_count(&delivered, 2 * (uint64_t)pipes, 30000))
        test_fail(__FILE__, __LINE__, "%s: reads: %llu of %u delivered", ebusy ? "EBUSY" : "kernel",
                  (unsigned long long)(atomic_load(&delivered) - pipes), pipes);
    /* Nothing more arrives: a post goes through after them, and no read came twice. */
    CHECK_OK(iocph_port_post(port, 0, UD_POSTED, 0));
    test_sleep_ms(50);
    CHECK_EQ(atomic_load(&delivered), 2 * (uint64_t)pipes);
    CHECK_EQ(atomic_load(&bad), 0);
    for (uint32_t i = 0; i < pipes; i++) {
        if (atomic_load(&seen[i]) != 1 || memcmp(bufs[i], "data", 4) != 0)
            test_fail(__FILE__, __LINE__, "read %u delivered %u times", i,
                      (unsigned)atomic_load(&seen[i]));
    }
    CHECK_OK(iocph_port_destroy(port)); /* closes the pipes */
    printf("%s: %u reads delivered once each\n", ebusy ? "emulated EBUSY" : "kernel", pipes);
}
#endif

int main(void)
{
#ifdef _WIN32
    test_skip("io_uring only");
#else
    test_watchdog(110);
    /* Two descriptors per pipe; keep some for everything else. */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    }
    uint64_t fit = rl.rlim_cur > 256 ? (rl.rlim_cur - 256) / 2 : 0;
    uint32_t pipes = fit < MAX_PIPES ? (uint32_t)fit : MAX_PIPES;
    if (pipes <= 4096 + 64)
        test_skip("too few file descriptors to overflow a 4,096-entry CQ");
    run(pipes, NULL);
    run(pipes, "1");
    return 0;
#endif
}
