/* ops_started counts the operations and posts a port accepted: a start refused after the port
 * let it in (a read on a write-only file: the handle is found, then its access refuses it) must
 * not count. Found by
 * the fuzz harness (tests/fuzz/fuzz_api.c), whose port statistics check after shutdown compares
 * ops_started with the starts that returned IOCPH_OK. */
#include "test_util.h"

int main(void)
{
    test_watchdog(60);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "stats-refused");
    test_path(path, sizeof path, dir, "f");
    static uint8_t data[8192];
    test_write_file(path, data, sizeof data);

    iocph_port_t port = test_port_pull(1);
    iocph_handle_t wo, ro;
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_WRITE, 1, &wo));
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 2, &ro));
    uint8_t buf[64];
    /* Refused once the handle was found: wrong access. */
    CHECK_STATUS(iocph_file_read(wo, buf, sizeof buf, 0, 1, NULL), IOCPH_E_ACCESS_DENIED);
    CHECK_STATUS(iocph_file_write(ro, buf, sizeof buf, 0, 2, NULL), IOCPH_E_ACCESS_DENIED);
    /* Accepted: one read and one post. */
    CHECK_OK(iocph_file_read(ro, buf, sizeof buf, 0, 3, NULL));
    CHECK_OK(iocph_port_post(port, 9, 4, 0));
    iocph_completion c[2];
    test_dequeue_n(port, c, 2, 10000);

    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_EQ(s.completions_delivered, 2);
    CHECK_EQ(s.ops_started, 2);

    CHECK_OK(iocph_handle_close(wo));
    CHECK_OK(iocph_handle_close(ro));
    CHECK_OK(iocph_port_destroy(port));
    test_remove_file(path);
    test_remove_dir(dir);
    puts("ok");
    return 0;
}
