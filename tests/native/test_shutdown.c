/* Shutdown rules: twice is IOCPH_E_SHUTDOWN; afterwards posts, opens, pipes and I/O are refused
 * with IOCPH_E_SHUTDOWN, handles stay valid until closed, dequeue reports IOCPH_E_SHUTDOWN, and
 * destroy still works. Pull mode: a shutdown times out while completions wait to be dequeued,
 * and completes once they were. */
#include "test_util.h"

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    (void)entries;
    (void)count;
}

int main(void)
{
    test_watchdog(60);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "shut");
    test_path(path, sizeof path, dir, "f.txt");
    test_write_file(path, "abc", 3);

    /* Pull mode. */
    iocph_port_t port = test_port_pull(1);
    iocph_handle_t f, r, w;
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ | IOCPH_FILE_WRITE, 1, &f));
    CHECK_OK(iocph_pipe_create(port, 2, &r, &w));
    CHECK_OK(iocph_port_post(port, 1, 2, 3));
    /* The posted packet is in flight until somebody dequeues it. */
    CHECK_STATUS(iocph_port_shutdown(port, 50), IOCPH_E_TIMEOUT);
    /* Shutting down: new work is refused already. */
    CHECK_STATUS(iocph_port_post(port, 1, 2, 3), IOCPH_E_SHUTDOWN);
    iocph_completion c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.result, 3);
    CHECK_EQ(c.flags, IOCPH_COMPLETION_POSTED);
    CHECK_OK(iocph_port_shutdown(port, 5000));
    CHECK_STATUS(iocph_port_shutdown(port, 5000), IOCPH_E_SHUTDOWN);
    CHECK_STATUS(iocph_port_shutdown(port, 0), IOCPH_E_SHUTDOWN);

    char buf[8];
    uint64_t length = 0;
    CHECK_STATUS(iocph_port_post(port, 1, 2, 3), IOCPH_E_SHUTDOWN);
    iocph_handle_t h2 = 5, h3 = 6;
    CHECK_STATUS(iocph_file_open(port, path, IOCPH_FILE_READ, 1, &h2), IOCPH_E_SHUTDOWN);
    CHECK_EQ(h2, 0);
    CHECK_STATUS(iocph_pipe_create(port, 1, &h2, &h3), IOCPH_E_SHUTDOWN);
    CHECK_STATUS(iocph_file_read(f, buf, sizeof buf, 0, 1, NULL), IOCPH_E_SHUTDOWN);
    CHECK_STATUS(iocph_file_write(f, buf, sizeof buf, 0, 1, NULL), IOCPH_E_SHUTDOWN);
    CHECK_STATUS(iocph_file_flush(f, 1, NULL), IOCPH_E_SHUTDOWN);
    CHECK_STATUS(iocph_pipe_read(r, buf, sizeof buf, 1, NULL), IOCPH_E_SHUTDOWN);
    CHECK_STATUS(iocph_pipe_write(w, buf, sizeof buf, 1, NULL), IOCPH_E_SHUTDOWN);
    /* Handles stay valid: synchronous calls work, cancel-all has nothing to do. */
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, 3);
    CHECK_OK(iocph_handle_cancel_all(r));
    uint32_t n = 9;
    CHECK_STATUS(iocph_port_dequeue(port, &c, 1, 0, &n), IOCPH_E_SHUTDOWN);
    CHECK_EQ(n, 0);
    uint64_t t0 = test_now_ms();
    CHECK_STATUS(iocph_port_dequeue(port, &c, 1, UINT32_MAX, &n), IOCPH_E_SHUTDOWN);
    CHECK(test_now_ms() - t0 < 1000); /* does not wait */
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_EQ(s.worker_threads, 0);
    CHECK_EQ(s.handles_open, 3);
    CHECK_OK(iocph_handle_close(f));
    CHECK_STATUS(iocph_file_get_length(f, &length), IOCPH_E_BADHANDLE);
    CHECK_OK(iocph_port_destroy(port)); /* closes r and w */
    CHECK_STATUS(iocph_handle_close(r), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_shutdown(port, 0), IOCPH_E_BADHANDLE);

    /* Push mode. */
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 2;
    test_create_port(&o, &port);
    for (int i = 0; i < 100; i++)
        CHECK_OK(iocph_port_post(port, 1, (uint64_t)i, i));
    CHECK_OK(iocph_port_shutdown(port, 5000));
    CHECK_STATUS(iocph_port_shutdown(port, 5000), IOCPH_E_SHUTDOWN);
    CHECK_STATUS(iocph_port_post(port, 1, 2, 3), IOCPH_E_SHUTDOWN);
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_EQ(s.completions_delivered, 100);
    CHECK_OK(iocph_port_destroy(port));

    /* Destroy without shutdown, with a packet nobody dequeued (pull): it is discarded. */
    port = test_port_pull(2);
    CHECK_OK(iocph_port_post(port, 1, 2, 3));
    CHECK_OK(iocph_pipe_create(port, 2, &r, &w));
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 7, NULL));
    CHECK_OK(iocph_port_destroy(port));

    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
