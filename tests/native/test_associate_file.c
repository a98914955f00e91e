/* iocph_handle_associate with a file the caller opened itself (open() / CreateFile with
 * FILE_FLAG_OVERLAPPED): the library reads what the caller wrote and the caller reads what the
 * library wrote; without IOCPH_ASSOCIATE_DUPLICATE the port owns and closes the handle, with it
 * the caller keeps its own. Windows: a handle opened for synchronous I/O is refused with
 * IOCPH_E_NOT_OVERLAPPED, and reopened for overlapped I/O when a duplicate is asked for. */
#include "test_util.h"

#include "os_handles.h"

static int64_t read_at(iocph_port_t port, iocph_handle_t f, void *buf, uint32_t len, uint64_t off)
{
    CHECK_OK(iocph_file_read(f, buf, len, off, 1, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 1);
    CHECK_EQ(c.key, 0xF11E);
    return c.result;
}

static void write_at(iocph_port_t port, iocph_handle_t f, const void *buf, uint32_t len, uint64_t off)
{
    CHECK_OK(iocph_file_write(f, buf, len, off, 2, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 2);
    CHECK_EQ(c.result, len);
}

/* The library reads what the caller wrote, then writes after it; returns the file's length. */
static uint64_t exchange(iocph_port_t port, iocph_handle_t f)
{
    char buf[64] = {0};
    CHECK_EQ(read_at(port, f, buf, sizeof buf, 0), 11);
    CHECK(memcmp(buf, "from the OS", 11) == 0);
    write_at(port, f, " and the port", 13, 11);
    uint64_t length = 0;
    CHECK_OK(iocph_file_get_length(f, &length));
    return length;
}

static void check_contents(const char *path)
{
    char buf[64] = {0};
    FILE *in = fopen(path, "rb");
    CHECK(in != NULL);
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    CHECK_EQ(n, 24);
    CHECK(memcmp(buf, "from the OS and the port", 24) == 0);
}

int main(void)
{
    test_watchdog(60);
    os_init();
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "associate-file");
    test_path(path, sizeof path, dir, "data.bin");
    iocph_port_t port = test_port_pull(1);

    /* Ownership moves to the port: closing the library's handle closes the caller's. */
    test_write_file(path, "from the OS", 11);
    int64_t os = os_open_file(path, 0);
    iocph_handle_t f = 0;
    CHECK_OK(iocph_handle_associate(port, os, IOCPH_HANDLE_FILE, 0xF11E, 0, &f));
    CHECK(f != 0);
    CHECK_EQ(exchange(port, f), 24);
    check_contents(path);
    CHECK_OK(iocph_handle_close(f));
    CHECK(!os_is_open(os));

    /* A duplicate: the caller closes its own at once, the port's keeps working. */
    test_write_file(path, "from the OS", 11);
    os = os_open_file(path, 0);
    CHECK_OK(iocph_handle_associate(port, os, IOCPH_HANDLE_FILE, 0xF11E, IOCPH_ASSOCIATE_DUPLICATE,
                                    &f));
    os_close(os);
    CHECK_EQ(exchange(port, f), 24);
    CHECK_OK(iocph_handle_close(f));
    check_contents(path);

#ifdef _WIN32
    /* A synchronous handle can't be served by a port: refused, still the caller's... */
    test_write_file(path, "from the OS", 11);
    os = os_open_file(path, 1);
    CHECK_STATUS(iocph_handle_associate(port, os, IOCPH_HANDLE_FILE, 0xF11E, 0, &f),
                 IOCPH_E_NOT_OVERLAPPED);
    CHECK_EQ(f, 0);
    CHECK(os_is_open(os));
    /* ...unless a duplicate is asked for: the file is reopened for overlapped I/O. */
    CHECK_OK(iocph_handle_associate(port, os, IOCPH_HANDLE_FILE, 0xF11E, IOCPH_ASSOCIATE_DUPLICATE,
                                    &f));
    os_close(os);
    CHECK_EQ(exchange(port, f), 24);
    CHECK_OK(iocph_handle_close(f));
    check_contents(path);
#endif

    CHECK_OK(iocph_port_destroy(port));
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
