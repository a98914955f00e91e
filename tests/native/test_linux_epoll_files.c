/* Files on the epoll backend go to a pool of blocking threads (unbuffered ones always; a buffered
 * read only when its pages are not cached). What the header promises of a cancel there: an op
 * still queued for a pool thread completes with IOCPH_E_CANCELED, one a pool thread has begun
 * completes with its real result; either way exactly once. With one pool thread
 * (IOCPH_EPOLL_FILE_THREADS=1) and a burst of large unbuffered reads, most of the burst is still
 * queued when the cancels arrive. Linux only. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#define READS 64
#define READ_SIZE (1u << 20)

int main(void)
{
    test_watchdog(60);
    setenv("IOCPH_EPOLL_FILE_THREADS", "1", 1);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.backend = IOCPH_BACKEND_EPOLL;
    o.worker_threads = 1;
    iocph_port_t port;
    test_create_port(&o, &port);

    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "epoll-files");
    test_path(path, sizeof path, dir, "data.bin");
    uint8_t *data = malloc(READ_SIZE), *raw;
    uint8_t *buffers = test_alloc_unbuffered(&raw, (size_t)READS * READ_SIZE);
    CHECK(data != NULL);
    test_fill(data, READ_SIZE, 9);
    test_write_file(path, data, READ_SIZE);
    iocph_handle_t f = test_open_unbuffered_or_skip(port, path, dir, 1);

    /* A burst, then a cancel of its last op and of everything. */
    iocph_op_t ops[READS];
    for (uint32_t i = 0; i < READS; i++)
        CHECK_OK(iocph_file_read(f, buffers + (size_t)i * READ_SIZE, READ_SIZE, 0, i, &ops[i]));
    int32_t rc = iocph_op_cancel(f, ops[READS - 1]);
    CHECK(rc == IOCPH_OK || rc == IOCPH_E_NOTPENDING);
    CHECK_OK(iocph_handle_cancel_all(f));

    uint32_t seen[READS] = {0}, cancelled = 0, read_whole = 0;
    for (uint32_t n = 0; n < READS; n++) {
        iocph_completion c = test_dequeue_one(port, 20000);
        CHECK(c.user_data < READS);
        seen[c.user_data]++;
        if (c.result == IOCPH_E_CANCELED) {
            cancelled++;
        } else {
            /* Begun before the cancel: the whole read, with the right bytes. */
            CHECK_EQ(c.result, (int64_t)READ_SIZE);
            CHECK(memcmp(buffers + c.user_data * READ_SIZE, data, READ_SIZE) == 0);
            read_whole++;
        }
    }
    for (uint32_t i = 0; i < READS; i++)
        CHECK_EQ(seen[i], 1);
    test_expect_nothing(port, 50);
    /* One thread reads 1 MiB at a time: the cancels overtake most of the burst. */
    CHECK(cancelled > 0);
    CHECK(read_whole > 0 || cancelled == READS);
    printf("test_linux_epoll_files: %u of %d cancelled while queued, %u read\n", cancelled, READS,
           read_whole);

    /* After the cancels the file still works. */
    CHECK_OK(iocph_file_read(f, buffers, 4096, 4096, 99, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 4096);
    CHECK(memcmp(buffers, data + 4096, 4096) == 0);

    CHECK_OK(iocph_handle_close(f));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    free(data);
    free(raw);
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
