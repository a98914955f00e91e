/* iocph_op_cancel keeps the op's spin lock (which an op returning to the pool takes too) for a
 * few instructions only: never across a memory allocation or a mutex. Seen from outside: a
 * cancel whose allocation is slow (here calloc, interposed by this program, sleeps 400 ms on
 * the cancelling thread) must not hold up the completion of the very op it targets, which
 * finishes meanwhile because its data arrived.
 *
 * Linux only: the interposition works through the shared library's calloc import; the Windows
 * DLL binds the C runtime's directly (and IOCP's cancel does not allocate).
 *
 * Not under ThreadSanitizer: its runtime calls calloc (through glibc's pthread_getattr_np) while
 * it sets up a new thread, before that thread may run instrumented code, so this instrumented
 * calloc crashes there (SEGV in __tsan_func_entry) and pthread_create never returns. Under
 * AddressSanitizer the interposition works (its malloc serves calls made before it is ready).
 * Nor under valgrind memcheck: it redirects every calloc, the executable's too, to its own (and
 * the 200 ms bound means nothing at valgrind's speed). */
#include "test_util.h"

#if defined(__SANITIZE_THREAD__)
#define TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_UNDER_TSAN 1
#endif
#endif

#if !defined(_WIN32) && !defined(TEST_UNDER_TSAN)
#include <errno.h>

static _Thread_local int slow_calloc;
/* Called through a volatile pointer: the compiler would turn malloc + memset into a call to
 * calloc, this very function. */
static void *(*volatile zero_fill)(void *, int, size_t) = memset;
static _Atomic int in_slow_calloc;

/* Exported (the build hides symbols by default) so that the library's import binds to it. */
__attribute__((visibility("default"))) void *calloc(size_t count, size_t size)
{
    if (slow_calloc) {
        slow_calloc = 0;
        atomic_store(&in_slow_calloc, 1);
        test_sleep_ms(400);
    }
    if (size && count > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(count * size);
    if (p)
        zero_fill(p, 0, count * size);
    return p;
}

static iocph_handle_t reader;
static _Atomic uint64_t target;

static void canceller(void *arg)
{
    (void)arg;
    slow_calloc = 1;
    CHECK_OK(iocph_op_cancel(reader, atomic_load(&target)));
    CHECK_EQ(slow_calloc, 0); /* the cancel allocated: the premise of this test */
}
#endif

int main(void)
{
#ifdef _WIN32
    test_skip("calloc can't be interposed for a DLL");
#elif defined(TEST_UNDER_TSAN)
    test_skip("calloc can't be interposed under ThreadSanitizer (its thread start calls it)");
#else
    if (test_under_valgrind())
        test_skip("calloc can't be interposed under valgrind (memcheck replaces every calloc)");
    test_watchdog(60);
    if (test_default_backend() != IOCPH_BACKEND_IO_URING)
        test_skip("only io_uring's cancel allocates (epoll queues it in a list it grows rarely)");
    iocph_port_t port = test_port_pull(1);
    iocph_handle_t writer;
    CHECK_OK(iocph_pipe_create(port, 1, &reader, &writer));
    char buf[8];
    iocph_op_t op = 0;
    CHECK_OK(iocph_pipe_read(reader, buf, sizeof buf, 10, &op));
    test_expect_nothing(port, 50); /* it waits */
    atomic_store(&target, op);

    test_thread t;
    test_thread_start(&t, canceller, NULL);
    uint64_t deadline = test_now_ms() + 5000;
    while (!atomic_load(&in_slow_calloc)) {
        CHECK(test_now_ms() < deadline);
        test_sleep_ms(1);
    }
    /* The cancel is inside its allocation. The data arrives now, the read finishes. */
    uint64_t t0 = test_now_ms();
    CHECK_OK(iocph_pipe_write(writer, "ab", 2, 11, NULL));
    int seen_read = 0;
    for (int i = 0; i < 2; i++) {
        iocph_completion c = test_dequeue_one(port, 5000);
        if (c.user_data == 10) {
            uint64_t took = test_now_ms() - t0;
            if (took >= 200)
                test_fail(__FILE__, __LINE__,
                          "the read's completion waited %llu ms for the cancel's allocation",
                          (unsigned long long)took);
            CHECK(c.result == 2 || c.result == IOCPH_E_CANCELED);
            seen_read = 1;
        } else {
            CHECK_EQ(c.user_data, 11);
            CHECK_EQ(c.result, 2);
        }
    }
    CHECK(seen_read);
    test_thread_join(&t);
    test_expect_nothing(port, 50); /* exactly once */

    CHECK_OK(iocph_handle_close(reader));
    CHECK_OK(iocph_handle_close(writer));
    CHECK_OK(iocph_port_destroy(port));
    printf("ok\n");
    return 0;
#endif
}
