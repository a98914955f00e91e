/* Flush (result 0), length, create/truncate/exclusive, and append (every write goes to the end
 * whatever the offset). */
#include "test_util.h"

int main(void)
{
    test_watchdog(60);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "flush");
    test_path(path, sizeof path, dir, "f.bin");
    iocph_port_t port = test_port_pull(1);
    const uint32_t RW = IOCPH_FILE_READ | IOCPH_FILE_WRITE;

    iocph_handle_t f;
    CHECK_OK(iocph_file_open(port, path, RW | IOCPH_FILE_CREATE | IOCPH_FILE_EXCLUSIVE, 9, &f));
    uint64_t length = 1;
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, 0);
    CHECK_OK(iocph_file_write(f, "abcdef", 6, 0, 1, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 6);
    iocph_op_t op = 0;
    CHECK_OK(iocph_file_flush(f, 2, &op));
    CHECK(op != 0);
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 2);
    CHECK_EQ(c.key, 9);
    CHECK_EQ(c.result, 0);
    CHECK_EQ(c.os_error, 0);
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, 6);
    CHECK_OK(iocph_handle_close(f));
    CHECK_STATUS(iocph_file_flush(f, 3, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_file_get_length(f, &length), IOCPH_E_BADHANDLE);

    /* A read-only handle can be flushed too (FlushFileBuffers may refuse it on Windows). */
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 9, &f));
    CHECK_OK(iocph_file_flush(f, 4, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK(c.result == 0 || (!test_is_linux() && c.result == IOCPH_E_ACCESS_DENIED));
    CHECK_OK(iocph_handle_close(f));

    /* Append: offsets are ignored. */
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_WRITE | IOCPH_FILE_APPEND, 9, &f));
    CHECK_OK(iocph_file_write(f, "GH", 2, 0, 5, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 2);
    CHECK_OK(iocph_file_write(f, "IJ", 2, 1, 6, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 2);
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, 10);
    CHECK_OK(iocph_handle_close(f));

    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 9, &f));
    char buf[32];
    CHECK_OK(iocph_file_read(f, buf, sizeof buf, 0, 7, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 10);
    CHECK(memcmp(buf, "abcdefGHIJ", 10) == 0);
    CHECK_OK(iocph_handle_close(f));

    /* Truncate on open; open without CREATE keeps the content. */
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_WRITE, 9, &f));
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, 10);
    CHECK_OK(iocph_handle_close(f));
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_WRITE | IOCPH_FILE_TRUNCATE, 9, &f));
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, 0);
    CHECK_OK(iocph_handle_close(f));
    /* CREATE without EXCLUSIVE opens an existing file. */
    CHECK_OK(iocph_file_open(port, path, RW | IOCPH_FILE_CREATE, 9, &f));
    CHECK_OK(iocph_handle_close(f));

    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
