/* Unbuffered files (O_DIRECT / FILE_FLAG_NO_BUFFERING): misaligned buffers, lengths and offsets
 * are refused with IOCPH_E_ALIGNMENT before reaching the OS; aligned I/O round-trips. Skipped
 * where the temp file system can't do unbuffered I/O. */
#include "test_util.h"

#define A IOCPH_UNBUFFERED_ALIGNMENT
#define BLOCKS 64u

int main(void)
{
    test_watchdog(60);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "direct");
    test_path(path, sizeof path, dir, "direct.bin");
    iocph_port_t port = test_port_pull(1);

    iocph_handle_t f = test_open_unbuffered_or_skip(port, path, dir, 1);

    uint8_t *raw, *back_raw;
    uint8_t *buf = test_alloc_unbuffered(&raw, BLOCKS * A);
    uint8_t *back = test_alloc_unbuffered(&back_raw, BLOCKS * A);
    for (uint32_t i = 0; i < BLOCKS * A; i++)
        buf[i] = (uint8_t)(i ^ (i >> 9));

    /* Misaligned: address, length, offset — for reads and writes. */
    CHECK_STATUS(iocph_file_write(f, buf + 1, A, 0, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_write(f, buf + 512, A, 0, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_write(f, buf, A - 1, 0, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_write(f, buf, A + 512, 0, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_write(f, buf, A, 1, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_write(f, buf, A, 512, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_read(f, back + 8, A, 0, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_read(f, back, 100, 0, 1, NULL), IOCPH_E_ALIGNMENT);
    CHECK_STATUS(iocph_file_read(f, back, A, 4095, 1, NULL), IOCPH_E_ALIGNMENT);
    /* Invalid arguments are still invalid arguments. */
    CHECK_STATUS(iocph_file_read(f, back, 0, 0, 1, NULL), IOCPH_E_INVALID_ARGUMENT);
    test_expect_nothing(port, 30);

    /* Aligned: one op per block, all in flight, then read back. */
    for (uint32_t i = 0; i < BLOCKS; i++)
        CHECK_OK(iocph_file_write(f, buf + i * A, A, (uint64_t)i * A, i, NULL));
    for (uint32_t i = 0; i < BLOCKS; i++) {
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.result, A);
    }
    CHECK_OK(iocph_file_flush(f, 999, NULL));
    CHECK_EQ(test_dequeue_one(port, 10000).result, 0);
    memset(back, 0, BLOCKS * A);
    CHECK_OK(iocph_file_read(f, back, BLOCKS * A, 0, 1000, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, BLOCKS * A);
    CHECK(memcmp(back, buf, BLOCKS * A) == 0);
    /* At the end of the file: a short (0) read is allowed. */
    CHECK_OK(iocph_file_read(f, back, A, (uint64_t)BLOCKS * A, 1001, NULL));
    CHECK_EQ(test_dequeue_one(port, 10000).result, 0);

    CHECK_OK(iocph_handle_close(f));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    free(raw);
    free(back_raw);
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
