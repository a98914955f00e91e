/* Every handle function fed every kind of bad handle: 0, forged, closed (stale), a handle of the
 * wrong kind (file vs pipe end vs port), and a handle whose slot was reused. Always
 * IOCPH_E_BADHANDLE, never a crash, and never a completion. */
#include "test_util.h"

static void check_all_refused(iocph_handle_t h, int line)
{
    char buf[8];
    uint64_t length;
    iocph_op_t op = 5;
#define REFUSED(call)                                                                            \
    do {                                                                                         \
        int32_t rc_ = (call);                                                                    \
        if (rc_ != IOCPH_E_BADHANDLE)                                                            \
            test_fail(__FILE__, line, "%s returned %d (%s) for handle %llx", #call, (int)rc_,    \
                      iocph_status_message(rc_), (unsigned long long)h);                         \
    } while (0)
    REFUSED(iocph_file_read(h, buf, sizeof buf, 0, 1, &op));
    REFUSED(iocph_file_write(h, buf, sizeof buf, 0, 1, &op));
    REFUSED(iocph_file_flush(h, 1, &op));
    REFUSED(iocph_file_get_length(h, &length));
    REFUSED(iocph_pipe_read(h, buf, sizeof buf, 1, &op));
    REFUSED(iocph_pipe_write(h, buf, sizeof buf, 1, &op));
    REFUSED(iocph_handle_cancel_all(h));
    REFUSED(iocph_op_cancel(h, op));
    REFUSED(iocph_handle_close(h));
#undef REFUSED
    if (op != 0)
        test_fail(__FILE__, line, "*op not cleared on failure");
}

int main(void)
{
    test_watchdog(60);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "badh");
    test_path(path, sizeof path, dir, "f.txt");
    test_write_file(path, "data", 4);
    iocph_port_t port = test_port_pull(1);

    check_all_refused(0, __LINE__);
    check_all_refused(~(uint64_t)0, __LINE__);
    check_all_refused(0x123456789ABCDEFull, __LINE__);
    check_all_refused(port, __LINE__); /* a port is not a handle */

    iocph_handle_t f, r, w;
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ | IOCPH_FILE_WRITE, 1, &f));
    CHECK_OK(iocph_pipe_create(port, 2, &r, &w));
    char buf[8];
    uint64_t length;

    /* Wrong kinds. */
    CHECK_STATUS(iocph_pipe_read(f, buf, sizeof buf, 1, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_pipe_write(f, buf, sizeof buf, 1, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_file_read(r, buf, sizeof buf, 0, 1, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_file_write(w, buf, sizeof buf, 0, 1, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_file_flush(r, 1, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_file_get_length(w, &length), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_pipe_read(w, buf, sizeof buf, 1, NULL), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_pipe_write(r, buf, sizeof buf, 1, NULL), IOCPH_E_BADHANDLE);
    /* Handles are not ports. */
    iocph_handle_t out1 = 1, out2 = 2;
    CHECK_STATUS(iocph_file_open(f, path, IOCPH_FILE_READ, 0, &out1), IOCPH_E_BADHANDLE);
    CHECK_EQ(out1, 0); /* failed calls clear their outputs */
    CHECK_STATUS(iocph_pipe_create(r, 0, &out1, &out2), IOCPH_E_BADHANDLE);
    CHECK(out1 == 0 && out2 == 0);

    /* Forged neighbours of live values: other generation, other kind bits, other index. */
    check_all_refused(f ^ ((uint64_t)1 << 32), __LINE__);
    check_all_refused(f ^ ((uint64_t)1 << 63), __LINE__);
    check_all_refused(f + 1000, __LINE__);
    check_all_refused((f & 0xFFFFFFFFull) | ((uint64_t)0x7F << 24), __LINE__);

    /* Closed values are stale for good, also once their slots are reused. */
    iocph_handle_t old_f = f, old_r = r, old_w = w;
    CHECK_OK(iocph_handle_close(f));
    CHECK_OK(iocph_handle_close(r));
    CHECK_OK(iocph_handle_close(w));
    check_all_refused(old_f, __LINE__);
    check_all_refused(old_r, __LINE__);
    check_all_refused(old_w, __LINE__);
    for (int i = 0; i < 10; i++) {
        CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 1, &f));
        CHECK_OK(iocph_pipe_create(port, 2, &r, &w));
        CHECK(f != old_f && r != old_r && w != old_w);
        check_all_refused(old_f, __LINE__);
        check_all_refused(old_r, __LINE__);
        check_all_refused(old_w, __LINE__);
        CHECK_OK(iocph_file_get_length(f, &length)); /* the new one works */
        CHECK_EQ(length, 4);
        CHECK_OK(iocph_handle_close(f));
        CHECK_OK(iocph_handle_close(r));
        CHECK_OK(iocph_handle_close(w));
    }

    /* Nothing was ever started. */
    test_expect_nothing(port, 30);
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_started, 0);
    test_check_stats_idle(port);

    /* Handles of a destroyed port are stale. */
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 1, &f));
    CHECK_OK(iocph_pipe_create(port, 2, &r, &w));
    CHECK_OK(iocph_port_destroy(port)); /* closes them */
    check_all_refused(f, __LINE__);
    check_all_refused(r, __LINE__);
    check_all_refused(w, __LINE__);

    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
