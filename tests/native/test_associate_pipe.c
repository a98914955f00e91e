/* iocph_handle_associate with pipe ends the caller made (Linux: pipe2, a real pipe rather than
 * the library's socket pair; Windows: a named pipe's overlapped server end): bytes the caller
 * writes arrive through iocph_pipe_read, bytes written with iocph_pipe_write reach the caller,
 * a closed writer reads as 0 and a closed reader fails the write with IOCPH_E_BROKEN_PIPE (on
 * Linux without a SIGPIPE that would end this process). Windows: an anonymous pipe (CreatePipe,
 * synchronous) is refused with IOCPH_E_NOT_OVERLAPPED. */
#include "test_util.h"

#include "os_handles.h"

#define BIG (1u << 20) /* far beyond a pipe's buffer: the write completes only with the reader */

typedef struct reader_args {
    int64_t os;
    uint8_t *dst;
    uint32_t len;
} reader_args;

static void os_reader(void *p)
{
    reader_args *a = p;
    uint32_t got = 0;
    while (got < a->len) {
        int64_t n = os_read(a->os, a->dst + got, a->len - got);
        CHECK(n > 0);
        got += (uint32_t)n;
    }
}

int main(void)
{
    test_watchdog(60);
    os_init();
    iocph_port_t port = test_port_pull(1);
    char buf[64];

    /* Caller writes, the port reads. */
    int64_t r_os, w_os;
    os_pipe(&r_os, &w_os, 1);
    iocph_handle_t r = 0;
    CHECK_OK(iocph_handle_associate(port, r_os, IOCPH_HANDLE_PIPE_READ, 7, 0, &r));
    os_write(w_os, "to the port", 11);
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 1, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.key, 7);
    CHECK_EQ(c.result, 11);
    CHECK(memcmp(buf, "to the port", 11) == 0);
    /* A read waiting when the caller closes its end completes with 0. */
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 2, NULL));
    test_expect_nothing(port, 30);
    os_close(w_os);
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 2);
    CHECK_EQ(c.result, 0);
    CHECK_OK(iocph_handle_close(r));
    CHECK(!os_is_open(r_os));

    /* The port writes, the caller reads: 1 MiB through a pipe buffer of far less. */
    os_pipe_out(&r_os, &w_os);
    iocph_handle_t w = 0;
    CHECK_OK(iocph_handle_associate(port, w_os, IOCPH_HANDLE_PIPE_WRITE, 8, 0, &w));
    uint8_t *big = malloc(BIG), *got = malloc(BIG);
    CHECK(big && got);
    for (uint32_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 7u + (i >> 10));
    reader_args args = {r_os, got, BIG};
    test_thread reader;
    test_thread_start(&reader, os_reader, &args);
    CHECK_OK(iocph_pipe_write(w, big, BIG, 3, NULL));
    c = test_dequeue_one(port, 20000);
    CHECK_EQ(c.key, 8);
    CHECK_EQ(c.result, BIG);
    test_thread_join(&reader);
    CHECK(memcmp(got, big, BIG) == 0);
    /* The caller closes its read end: the next write fails, the process lives on. */
    os_close(r_os);
    CHECK_OK(iocph_pipe_write(w, "late", 4, 4, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, IOCPH_E_BROKEN_PIPE);
    CHECK_OK(iocph_handle_close(w));
    free(big);
    free(got);

    /* A duplicate of a read end: the caller's stays open and usable by the caller. */
    os_pipe(&r_os, &w_os, 1);
    CHECK_OK(iocph_handle_associate(port, r_os, IOCPH_HANDLE_PIPE_READ, 9, IOCPH_ASSOCIATE_DUPLICATE,
                                    &r));
    os_close(r_os);
    os_write(w_os, "dup", 3);
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 5, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 3);
    CHECK_OK(iocph_handle_close(r));
    os_close(w_os);

    /* The wrong direction. */
    os_pipe(&r_os, &w_os, 1);
#ifdef _WIN32
    /* Windows does not say which way a pipe handle goes: the OS refuses the write itself. */
#else
    CHECK_STATUS(iocph_handle_associate(port, r_os, IOCPH_HANDLE_PIPE_WRITE, 9, 0, &w),
                 IOCPH_E_ACCESS_DENIED);
    CHECK_STATUS(iocph_handle_associate(port, w_os, IOCPH_HANDLE_PIPE_READ, 9, 0, &r),
                 IOCPH_E_ACCESS_DENIED);
#endif
    os_close(r_os);
    os_close(w_os);

#ifdef _WIN32
    /* Anonymous pipes are synchronous; a named pipe opened without FILE_FLAG_OVERLAPPED too. */
    HANDLE ar, aw;
    CHECK(CreatePipe(&ar, &aw, NULL, 0));
    CHECK_STATUS(iocph_handle_associate(port, (int64_t)(intptr_t)ar, IOCPH_HANDLE_PIPE_READ, 1, 0, &r),
                 IOCPH_E_NOT_OVERLAPPED);
    CHECK_STATUS(iocph_handle_associate(port, (int64_t)(intptr_t)aw, IOCPH_HANDLE_PIPE_WRITE, 1,
                                        IOCPH_ASSOCIATE_DUPLICATE, &w),
                 IOCPH_E_NOT_OVERLAPPED);
    CHECK(os_is_open((int64_t)(intptr_t)ar) && os_is_open((int64_t)(intptr_t)aw));
    CloseHandle(ar);
    CloseHandle(aw);
    os_pipe(&r_os, &w_os, 0);
    CHECK_STATUS(iocph_handle_associate(port, r_os, IOCPH_HANDLE_PIPE_READ, 1, 0, &r),
                 IOCPH_E_NOT_OVERLAPPED);
    os_close(r_os);
    os_close(w_os);
#endif

    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
