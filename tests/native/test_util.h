/*
 * test_util.h - what every native test shares: assertions that print file:line and exit 1, a
 * watchdog so that no test can hang, and a thin portable layer (threads, sleep, clock, temp
 * files) so that the SAME test compiles on Linux (io_uring) and with mingw-w64 for Windows /
 * Wine (IOCP). Exit code 77 means "skipped" (CTest SKIP_RETURN_CODE).
 */
#ifndef IOCPH_TEST_UTIL_H
#define IOCPH_TEST_UTIL_H

/* clock_gettime, nanosleep, mkdir under -std=c11: must come before any system header, so every
 * test includes this file first. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "iocphybrid.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#else
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#endif

#define TEST_SKIP 77

/* ---- assertions ---- */

static inline void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: FAILED: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    exit(1);
}

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond))                                                                             \
            test_fail(__FILE__, __LINE__, "%s", #cond);                                          \
    } while (0)

/* Compares two integers and prints both values on failure. */
#define CHECK_EQ(actual, expected)                                                               \
    do {                                                                                         \
        long long check_a_ = (long long)(actual), check_e_ = (long long)(expected);              \
        if (check_a_ != check_e_)                                                                \
            test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #actual, check_a_,  \
                      #expected, check_e_);                                                      \
    } while (0)

/* An iocph status: prints the message of what came back. */
#define CHECK_STATUS(call, expected)                                                             \
    do {                                                                                         \
        int32_t check_s_ = (call);                                                               \
        int32_t check_x_ = (expected);                                                           \
        if (check_s_ != check_x_)                                                                \
            test_fail(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s)", #call,        \
                      (int)check_s_, iocph_status_message(check_s_), (int)check_x_,              \
                      iocph_status_message(check_x_));                                           \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, IOCPH_OK)

static inline void test_skip(const char *why)
{
    printf("SKIPPED: %s\n", why);
    fflush(stdout);
    exit(TEST_SKIP);
}

/* ---- time and threads ---- */

static inline uint64_t test_now_ms(void)
{
#ifdef _WIN32
    return (uint64_t)GetTickCount64();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
}

static inline void test_sleep_ms(uint32_t ms)
{
#ifdef _WIN32
    Sleep(ms);
#else
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
#endif
}

typedef void (*test_thread_fn)(void *arg);

typedef struct test_thread {
#ifdef _WIN32
    HANDLE handle;
#else
    pthread_t handle;
#endif
    test_thread_fn fn;
    void *arg;
} test_thread;

#ifdef _WIN32
static inline DWORD WINAPI test_thread_trampoline(LPVOID p)
{
    test_thread *t = (test_thread *)p;
    t->fn(t->arg);
    return 0;
}
#else
static inline void *test_thread_trampoline(void *p)
{
    test_thread *t = (test_thread *)p;
    t->fn(t->arg);
    return NULL;
}
#endif

/* t must stay valid until test_thread_join. */
static inline void test_thread_start(test_thread *t, test_thread_fn fn, void *arg)
{
    t->fn = fn;
    t->arg = arg;
#ifdef _WIN32
    t->handle = CreateThread(NULL, 0, test_thread_trampoline, t, 0, NULL);
    if (!t->handle)
        test_fail(__FILE__, __LINE__, "CreateThread failed");
#else
    if (pthread_create(&t->handle, NULL, test_thread_trampoline, t) != 0)
        test_fail(__FILE__, __LINE__, "pthread_create failed");
#endif
}

static inline void test_thread_join(test_thread *t)
{
#ifdef _WIN32
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
#else
    pthread_join(t->handle, NULL);
#endif
}

/* ---- slow runs: IOCPH_TEST_SLOWDOWN=N says the test runs about N times slower than usual (valgrind
 * memcheck sets it: tests/tools/memcheck.sh). Watchdogs and the waits that fail a test (not the
 * windows in which nothing may arrive) last N times longer. ---- */

static inline uint32_t test_slowdown(void)
{
    const char *text = getenv("IOCPH_TEST_SLOWDOWN");
    long n = text ? strtol(text, NULL, 10) : 1;
    return n < 1 ? 1u : n > 1000 ? 1000u : (uint32_t)n;
}

/* IOCPH_TEST_VALGRIND=1: the test runs under valgrind (tests/tools/memcheck.sh sets it), which
 * replaces the allocator, the test's own interposed functions included. */
static inline int test_under_valgrind(void)
{
    const char *text = getenv("IOCPH_TEST_VALGRIND");
    return text && *text && strcmp(text, "0") != 0;
}

/* ---- watchdog: a test that hangs fails with a message instead of running into CTest's
 * timeout ---- */

static uint32_t test_watchdog_seconds;

static inline void test_watchdog_main(void *arg)
{
    (void)arg;
    test_sleep_ms(test_watchdog_seconds * 1000u);
    fprintf(stderr, "FAILED: watchdog: the test did not finish within %u s\n",
            test_watchdog_seconds);
    fflush(stderr);
#ifdef _WIN32
    ExitProcess(1);
#else
    _exit(1);
#endif
}

static inline void test_watchdog(uint32_t seconds)
{
    static test_thread watchdog;
    test_watchdog_seconds = seconds * test_slowdown();
    test_thread_start(&watchdog, test_watchdog_main, NULL); /* never joined: exits the process */
}

/* Waits until *counter >= target, at most timeout_ms. Returns 1 if reached. */
static inline int test_wait_count(_Atomic uint64_t *counter, uint64_t target, uint32_t timeout_ms)
{
    uint64_t deadline = test_now_ms() + (uint64_t)timeout_ms * test_slowdown();
    while (atomic_load(counter) < target) {
        if (test_now_ms() > deadline)
            return 0;
        test_sleep_ms(1);
    }
    return 1;
}

/* Runs fn on count threads at once, thread i on (char *)args + i * arg_size, and joins them. */
static inline void test_run_threads(test_thread_fn fn, void *args, size_t arg_size, uint32_t count)
{
    test_thread threads[16];
    if (count > 16)
        test_fail(__FILE__, __LINE__, "test_run_threads: at most 16 threads");
    for (uint32_t t = 0; t < count; t++)
        test_thread_start(&threads[t], fn, (char *)args + (size_t)t * arg_size);
    for (uint32_t t = 0; t < count; t++)
        test_thread_join(&threads[t]);
}

/* ---- temporary files ---- */

/* A fresh, empty directory for this test; *dir receives its path (no trailing separator). */
static inline void test_temp_dir(char *dir, size_t size, const char *name)
{
    static unsigned counter;
#ifdef _WIN32
    char base[MAX_PATH];
    DWORD n = GetTempPathA(sizeof base, base);
    if (n == 0 || n >= sizeof base)
        test_fail(__FILE__, __LINE__, "GetTempPathA failed");
    if (base[n - 1] == '\\')
        base[n - 1] = '\0';
    int len = snprintf(dir, size, "%s\\iocph-%s-%lu-%u", base, name,
                       (unsigned long)GetCurrentProcessId(), counter++);
    if (len < 0 || (size_t)len >= size)
        test_fail(__FILE__, __LINE__, "path too long");
    if (!CreateDirectoryA(dir, NULL))
        test_fail(__FILE__, __LINE__, "CreateDirectoryA(%s) failed: %lu", dir, GetLastError());
#else
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    int n = snprintf(dir, size, "%s/iocph-%s-%ld-%u", base, name, (long)getpid(), counter++);
    if (n < 0 || (size_t)n >= size)
        test_fail(__FILE__, __LINE__, "path too long");
    if (mkdir(dir, 0700) != 0)
        test_fail(__FILE__, __LINE__, "mkdir(%s) failed", dir);
#endif
}

/* dir + separator + name. */
static inline void test_path(char *out, size_t size, const char *dir, const char *name)
{
#ifdef _WIN32
    int n = snprintf(out, size, "%s\\%s", dir, name);
#else
    int n = snprintf(out, size, "%s/%s", dir, name);
#endif
    if (n < 0 || (size_t)n >= size)
        test_fail(__FILE__, __LINE__, "path too long");
}

static inline void test_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        test_fail(__FILE__, __LINE__, "fopen(%s) failed", path);
    if (size && fwrite(data, 1, size, f) != size)
        test_fail(__FILE__, __LINE__, "fwrite(%s) failed", path);
    fclose(f);
}

static inline void test_set_read_only(const char *path, int read_only)
{
#ifdef _WIN32
    DWORD attrs = GetFileAttributesA(path);
    attrs = read_only ? (attrs | FILE_ATTRIBUTE_READONLY) : (attrs & ~FILE_ATTRIBUTE_READONLY);
    SetFileAttributesA(path, attrs);
#else
    chmod(path, read_only ? 0444 : 0644);
#endif
}

static inline void test_remove_file(const char *path)
{
#ifdef _WIN32
    test_set_read_only(path, 0);
    DeleteFileA(path);
#else
    unlink(path);
#endif
}

static inline void test_remove_dir(const char *path)
{
#ifdef _WIN32
    RemoveDirectoryA(path);
#else
    rmdir(path);
#endif
}

/* Opens path for unbuffered reading and writing (created), or, where the temp file system can't
 * do unbuffered I/O, destroys port, removes path and dir and ends the test as skipped. */
static inline iocph_handle_t test_open_unbuffered_or_skip(iocph_port_t port, const char *path,
                                                          const char *dir, uint64_t key)
{
    iocph_handle_t f = 0;
    int32_t rc = iocph_file_open(port, path,
                                 IOCPH_FILE_READ | IOCPH_FILE_WRITE | IOCPH_FILE_CREATE |
                                     IOCPH_FILE_UNBUFFERED,
                                 key, &f);
    if (rc == IOCPH_E_UNSUPPORTED) {
        CHECK_OK(iocph_port_destroy(port));
        test_remove_file(path);
        test_remove_dir(dir);
        test_skip("the temp file system does not support unbuffered I/O");
    }
    CHECK_OK(rc);
    return f;
}

/* size bytes aligned for unbuffered I/O; free *raw afterwards. */
static inline uint8_t *test_alloc_unbuffered(uint8_t **raw, size_t size)
{
    *raw = (uint8_t *)malloc(size + IOCPH_UNBUFFERED_ALIGNMENT);
    if (!*raw)
        test_fail(__FILE__, __LINE__, "out of memory");
    return (uint8_t *)(((uintptr_t)*raw + IOCPH_UNBUFFERED_ALIGNMENT - 1) &
                       ~(uintptr_t)(IOCPH_UNBUFFERED_ALIGNMENT - 1));
}

/* Running as root (Linux) ignores file permissions. */
static inline int test_is_root(void)
{
#ifdef _WIN32
    /* Wine keeps FILE_ATTRIBUTE_READONLY as Unix permission bits, which a root wineserver
     * ignores: under Wine, treat the process like root (Windows itself enforces the attribute).
     * ntdll exports wine_get_version only under Wine. */
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
#else
    return geteuid() == 0;
#endif
}

static inline int test_is_linux(void)
{
#ifdef _WIN32
    return 0;
#else
    return 1;
#endif
}

/* ---- ports ---- */

/* Creates a port. Never skips: the default backend runs everywhere (on Linux, epoll where
 * io_uring is refused), so a port that can't be made is a failure. */
static inline void test_create_port_at(const iocph_port_options *o, iocph_port_t *port,
                                       const char *file, int line)
{
    int32_t rc = iocph_port_create(o, port);
    if (rc != IOCPH_OK || *port == 0)
        test_fail(file, line, "iocph_port_create returned %d (%s)", (int)rc,
                  iocph_status_message(rc));
}
#define test_create_port(o, port) test_create_port_at(o, port, __FILE__, __LINE__)

/* The backend a default port runs on in this process (IOCPH_BACKEND and fallbacks included). */
static inline int32_t test_default_backend(void)
{
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    iocph_port_t port = 0;
    test_create_port_at(&o, &port, __FILE__, __LINE__);
    int32_t backend = 0;
    CHECK_OK(iocph_port_get_backend(port, &backend));
    CHECK_OK(iocph_port_destroy(port));
    return backend;
}

static inline iocph_port_t test_port_pull(uint32_t workers)
{
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.worker_threads = workers;
    iocph_port_t port = 0;
    test_create_port(&o, &port);
    return port;
}

/* A push-mode port: `workers` workers deliver batches to `callback` (default options otherwise). */
static inline iocph_port_t test_port_push(uint32_t workers, iocph_completion_callback callback)
{
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.worker_threads = workers;
    o.callback = callback;
    iocph_port_t port = 0;
    test_create_port(&o, &port);
    return port;
}

/* Helpers that fail report the caller's file:line. */
#define CHECK_AT(cond, file, line)                                                               \
    do {                                                                                         \
        if (!(cond))                                                                             \
            test_fail(file, line, "%s", #cond);                                                  \
    } while (0)

/* Dequeues exactly one completion (pull mode), failing the test after timeout_ms (times the
 * slowdown). */
static inline iocph_completion test_dequeue_one_at(iocph_port_t port, uint32_t timeout_ms,
                                                   const char *file, int line)
{
    iocph_completion c;
    memset(&c, 0, sizeof c);
    uint32_t n = 0;
    uint64_t limit = (uint64_t)timeout_ms * test_slowdown();
    int32_t rc = iocph_port_dequeue(port, &c, 1, limit > 3600000u ? 3600000u : (uint32_t)limit, &n);
    if (rc != IOCPH_OK || n != 1)
        test_fail(file, line, "dequeue returned %d (%s), count %u", (int)rc,
                  iocph_status_message(rc), n);
    return c;
}
#define test_dequeue_one(port, timeout_ms) test_dequeue_one_at(port, timeout_ms, __FILE__, __LINE__)

/* Checks that nothing arrives within ms (pull mode). */
static inline void test_expect_nothing_at(iocph_port_t port, uint32_t ms, const char *file,
                                          int line)
{
    iocph_completion c;
    uint32_t n = 99;
    int32_t rc = iocph_port_dequeue(port, &c, 1, ms, &n);
    if (rc != IOCPH_E_TIMEOUT || n != 0)
        test_fail(file, line,
                  "expected no completion, dequeue returned %d, count %u (user_data %llu, "
                  "result %lld)",
                  (int)rc, n, n ? (unsigned long long)c.user_data : 0ull,
                  n ? (long long)c.result : 0ll);
}
#define test_expect_nothing(port, ms) test_expect_nothing_at(port, ms, __FILE__, __LINE__)

/* A port with nothing in flight and no handle open. */
static inline void test_check_stats_idle_at(iocph_port_t port, const char *file, int line)
{
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    int32_t rc = iocph_port_get_stats(port, &s);
    if (rc != IOCPH_OK || s.ops_in_flight != 0 || s.handles_open != 0)
        test_fail(file, line, "stats: rc %d, ops_in_flight %llu, handles_open %llu", (int)rc,
                  (unsigned long long)s.ops_in_flight, (unsigned long long)s.handles_open);
}
#define test_check_stats_idle(port) test_check_stats_idle_at(port, __FILE__, __LINE__)

/* The end of a race: waits until as many completions as operations started have arrived (the
 * totals), then checks that none was bad and that operation i completed as often as it started. */
static inline void test_check_started_completed_at(_Atomic uint64_t *total_started,
                                                   _Atomic uint64_t *total_completed,
                                                   _Atomic uint64_t *bad, _Atomic uint32_t *started,
                                                   _Atomic uint32_t *completed, uint32_t count,
                                                   const char *file, int line)
{
    uint64_t n = atomic_load(total_started);
    if (!test_wait_count(total_completed, n, 20000))
        test_fail(file, line, "%llu of %llu completions arrived",
                  (unsigned long long)atomic_load(total_completed), (unsigned long long)n);
    test_sleep_ms(50); /* and nothing after */
    if (atomic_load(bad) != 0 || atomic_load(total_completed) != n)
        test_fail(file, line, "%llu bad completions, %llu completions for %llu operations",
                  (unsigned long long)atomic_load(bad),
                  (unsigned long long)atomic_load(total_completed), (unsigned long long)n);
    for (uint32_t i = 0; i < count; i++)
        if (atomic_load(&completed[i]) != atomic_load(&started[i]))
            test_fail(file, line, "op %u started %u times, completed %u times", i,
                      atomic_load(&started[i]), atomic_load(&completed[i]));
}
#define test_check_started_completed(total_started, total_completed, bad, started, completed,     \
                                     count)                                                      \
    test_check_started_completed_at(total_started, total_completed, bad, started, completed,      \
                                    count, __FILE__, __LINE__)

/* ---- sockets: everything goes through the library's own API (Winsock is started by the
 * library on Windows), so the same code runs on io_uring and on IOCP under Wine ---- */

/* The loopback endpoint of a family (IOCPH_AF_INET: 127.0.0.1, IOCPH_AF_INET6: ::1). */
static inline iocph_endpoint test_loopback(uint16_t family, uint16_t port)
{
    iocph_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.family = family;
    ep.port = port;
    if (family == IOCPH_AF_INET) {
        ep.address[0] = 127;
        ep.address[3] = 1;
    } else {
        ep.address[15] = 1;
    }
    return ep;
}

/* A listener on the family's loopback, port chosen by the system; *bound receives its endpoint. */
static inline iocph_handle_t test_listen_at(iocph_port_t port, uint16_t family, int32_t backlog,
                                            iocph_endpoint *bound, const char *file, int line)
{
    iocph_endpoint ep = test_loopback(family, 0);
    iocph_handle_t listener = 0;
    int32_t rc = iocph_tcp_listen(port, &ep, backlog, 0, 7, &listener);
    if (rc != IOCPH_OK)
        test_fail(file, line, "iocph_tcp_listen returned %d (%s)", (int)rc,
                  iocph_status_message(rc));
    rc = iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, bound);
    if (rc != IOCPH_OK || bound->port == 0)
        test_fail(file, line, "get_endpoint returned %d, port %u", (int)rc, bound->port);
    return listener;
}
#define test_listen(port, family, backlog, bound)                                                \
    test_listen_at(port, family, backlog, bound, __FILE__, __LINE__)

/* Dequeues exactly `count` completions (pull mode) into out[], in arrival order. */
static inline void test_dequeue_n_at(iocph_port_t port, iocph_completion *out, uint32_t count,
                                     uint32_t timeout_ms, const char *file, int line)
{
    for (uint32_t i = 0; i < count; i++)
        out[i] = test_dequeue_one_at(port, timeout_ms, file, line);
}
#define test_dequeue_n(port, out, count, timeout_ms)                                             \
    test_dequeue_n_at(port, out, count, timeout_ms, __FILE__, __LINE__)

/* A connected TCP pair through a fresh listener (closed again): *client from iocph_tcp_connect
 * (user_data 2), *server from iocph_tcp_accept (user_data 1). Pull-mode port. */
static inline void test_tcp_pair_at(iocph_port_t port, uint16_t family, iocph_handle_t *client,
                                    iocph_handle_t *server, const char *file, int line)
{
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen_at(port, family, 0, &bound, file, line);
    iocph_accept_result ar;
    memset(&ar, 0, sizeof ar);
    int32_t rc = iocph_tcp_accept(listener, 8, &ar, 0, 1, NULL);
    if (rc == IOCPH_OK)
        rc = iocph_tcp_connect(port, &bound, NULL, 9, 0, 2, client, NULL);
    if (rc != IOCPH_OK)
        test_fail(file, line, "accept/connect returned %d (%s)", (int)rc,
                  iocph_status_message(rc));
    for (int i = 0; i < 2; i++) {
        iocph_completion c = test_dequeue_one_at(port, 10000, file, line);
        if (c.result != 0 || (c.user_data != 1 && c.user_data != 2))
            test_fail(file, line, "pair: user_data %llu result %lld (%s)",
                      (unsigned long long)c.user_data, (long long)c.result,
                      iocph_status_message((int32_t)c.result));
    }
    *server = ar.socket;
    CHECK_AT(ar.socket != 0, file, line);
    CHECK_AT(iocph_handle_close(listener) == IOCPH_OK, file, line);
}
#define test_tcp_pair(port, family, client, server)                                              \
    test_tcp_pair_at(port, family, client, server, __FILE__, __LINE__)

/* Deterministic test bytes: a pattern that differs per position and per seed. */
static inline uint8_t test_byte(uint32_t seed, size_t i)
{
    return (uint8_t)((i * 131u + seed * 7u + (i >> 8) * 17u) & 0xFF);
}
static inline void test_fill(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = test_byte(seed, i);
}
static inline int test_check_fill(const uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != test_byte(seed, i))
            return 0;
    return 1;
}

#endif
