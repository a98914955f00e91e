/* Port creation, options and the port-level bad inputs: NULL pointers, bad sizes, unknown
 * backends, limits, stale/forged/wrong-kind port values, dequeue on a push-mode port. */
#include "test_util.h"

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    (void)entries;
    (void)count;
}

static iocph_port_options defaults(void)
{
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    return o;
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = 12345;

    /* options_init */
    CHECK_STATUS(iocph_port_options_init(NULL), IOCPH_E_INVALID_ARGUMENT);
    iocph_port_options o;
    memset(&o, 0xA5, sizeof o);
    CHECK_OK(iocph_port_options_init(&o));
    CHECK_EQ(o.size, sizeof o);
    CHECK_EQ(o.backend, IOCPH_BACKEND_DEFAULT);
    CHECK_EQ(o.worker_threads, 0);
    CHECK(o.callback == NULL && o.callback_context == NULL);

    /* create: bad arguments never produce a port */
    CHECK_STATUS(iocph_port_create(NULL, &port), IOCPH_E_INVALID_ARGUMENT);
    o = defaults();
    CHECK_STATUS(iocph_port_create(&o, NULL), IOCPH_E_INVALID_ARGUMENT);
    o.size = 0;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);
    o.size = sizeof o + 8;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);
    o = defaults();
    o.backend = 77;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);
    o.backend = -1;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);
    o = defaults();
    o.max_batch = 1025;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);
    o = defaults();
    o.queue_depth = IOCPH_MAX_OPS + 1;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);

    /* The other OS's backends do not exist here; nor does a backend past the last. */
    o = defaults();
    o.backend = test_is_linux() ? IOCPH_BACKEND_IOCP : IOCPH_BACKEND_IO_URING;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_UNSUPPORTED);
    o.backend = test_is_linux() ? IOCPH_BACKEND_IOCP : IOCPH_BACKEND_EPOLL;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_UNSUPPORTED);
    o.backend = IOCPH_BACKEND_EPOLL + 1;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);
    o.backend = -1;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_INVALID_ARGUMENT);

    /* The backend the default runs on here, asked by name. */
    int32_t native = test_default_backend();
    o = defaults();
    o.backend = native;
    o.max_batch = 1024;
    o.worker_threads = 3;
    o.queue_depth = 1;
    CHECK_OK(iocph_port_create(&o, &port));
    int32_t backend = -5;
    CHECK_OK(iocph_port_get_backend(port, &backend));
    CHECK_EQ(backend, native);
    CHECK_STATUS(iocph_port_get_backend(port, NULL), IOCPH_E_INVALID_ARGUMENT);
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    CHECK_STATUS(iocph_port_get_stats(port, &s), IOCPH_E_INVALID_ARGUMENT); /* size not set */
    CHECK_STATUS(iocph_port_get_stats(port, NULL), IOCPH_E_INVALID_ARGUMENT);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_EQ(s.handles_open, 0);
    CHECK_EQ(s.ops_started, 0);

    /* Pull-mode calls with bad arguments. */
    iocph_completion c[4];
    uint32_t n = 7;
    CHECK_STATUS(iocph_port_dequeue(port, NULL, 4, 0, &n), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_port_dequeue(port, c, 0, 0, &n), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_port_dequeue(port, c, 4, 0, NULL), IOCPH_E_INVALID_ARGUMENT);
    n = 7;
    CHECK_STATUS(iocph_port_dequeue(port, c, 4, 0, &n), IOCPH_E_TIMEOUT); /* poll */
    CHECK_EQ(n, 0);
    uint64_t t0 = test_now_ms();
    CHECK_STATUS(iocph_port_dequeue(port, c, 4, 100, &n), IOCPH_E_TIMEOUT);
    CHECK(test_now_ms() - t0 >= 90);

    /* Forged and wrong-kind port values. */
    CHECK_STATUS(iocph_port_post(0, 1, 2, 3), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_post(port + 1, 1, 2, 3), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_post(port ^ ((uint64_t)1 << 40), 1, 2, 3), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_post(~(uint64_t)0, 1, 2, 3), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_get_backend(port ^ ((uint64_t)1 << 33), &backend), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_shutdown(port + 0x1000000, 0), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_destroy(12345), IOCPH_E_BADHANDLE);
    iocph_handle_t r, w;
    CHECK_OK(iocph_pipe_create(port, 1, &r, &w));
    /* A handle is not a port, and a port is not a handle. */
    CHECK_STATUS(iocph_port_post(r, 1, 2, 3), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_dequeue(w, c, 4, 0, &n), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_shutdown(r, 0), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_handle_close(port), IOCPH_E_BADHANDLE);
    CHECK_OK(iocph_handle_close(r));
    CHECK_OK(iocph_handle_close(w));

    CHECK_OK(iocph_port_destroy(port));
    /* Stale after destroy. */
    CHECK_STATUS(iocph_port_destroy(port), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_post(port, 1, 2, 3), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_get_backend(port, &backend), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_get_stats(port, &s), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_dequeue(port, c, 4, 0, &n), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_port_shutdown(port, 0), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_pipe_create(port, 1, &r, &w), IOCPH_E_BADHANDLE);

    /* Push mode: dequeue is the wrong mode. Defaults everywhere else. */
    o = defaults();
    o.callback = on_batch;
    iocph_port_t push;
    CHECK_OK(iocph_port_create(&o, &push));
    CHECK(push != 0 && push != port);
    CHECK_STATUS(iocph_port_dequeue(push, c, 4, 0, &n), IOCPH_E_WRONG_MODE);
    CHECK_STATUS(iocph_port_dequeue(push, c, 4, 50, &n), IOCPH_E_WRONG_MODE);
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(push, &s));
    CHECK(s.worker_threads >= 1);
    CHECK_OK(iocph_port_destroy(push));

    /* Many ports, created and destroyed: nothing leaks into the next. */
    for (int i = 0; i < 20; i++) {
        o = defaults();
        o.worker_threads = 1 + (uint32_t)(i % 3);
        if (i % 2)
            o.callback = on_batch;
        CHECK_OK(iocph_port_create(&o, &port));
        CHECK_OK(iocph_port_post(port, 1, 2, 3));
        CHECK_OK(iocph_port_destroy(port));
    }
    return 0;
}
