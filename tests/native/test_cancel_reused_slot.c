/* A cancel asked for one incarnation of a pool slot never reaches a later one.
 *
 * io_uring: a cancel whose target had already finished in the kernel comes back -ENOENT, and the
 * ring retries a -ENOENT for an op still in flight. The retry must compare the generation the
 * cancel was asked for, all 32 bits: here the target's slot is reused exactly 4,096 times
 * before the ring looks at the cancel's result (the ring's thread is in a slow callback), so
 * 12 bits of the generation match the new incarnation's. That one, a pipe read nobody
 * cancelled, must not complete IOCPH_E_CANCELED; it waits for its data.
 *
 * How the order is made: the ring's thread is held in a callback while a file read R and its
 * cancel are queued, so both reach the kernel in one submission, R first: a read of cached
 * pages completes inline, and the cancel finds nothing (-ENOENT). max_batch 1 delivers R alone,
 * before the cancel's result is looked at; R's callback takes R's slot 4,095 times more (writes
 * refused on a read-only file take an op and give it back), then starts the pipe read X, which
 * gets the slot at R's generation + 4,096. */
#include "test_util.h"

enum { UD_BLOCK = 1, UD_R = 2, UD_X = 3, UD_W = 4 };

static iocph_handle_t file, pipe_r;
static uint8_t file_buf[4096];
static char pipe_buf[16];
static _Atomic int blocked, released;
static _Atomic int64_t r_result, x_result, w_result;
static _Atomic int r_done, x_started, x_done, w_done;
static _Atomic uint64_t x_op;

static void on_completions(void *ctx, const iocph_completion *e, uint32_t n)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++) {
        switch (e[i].user_data) {
        case UD_BLOCK:
            atomic_store(&blocked, 1);
            while (!atomic_load(&released))
                test_sleep_ms(1);
            break;
        case UD_R:
            atomic_store(&r_result, e[i].result);
            atomic_store(&r_done, 1);
            if (e[i].result >= 0) {
                uint8_t b = 0;
                for (int k = 0; k < 4095; k++)
                    CHECK_STATUS(iocph_file_write(file, &b, 1, 0, 99, NULL), IOCPH_E_ACCESS_DENIED);
                iocph_op_t op = 0;
                CHECK_OK(iocph_pipe_read(pipe_r, pipe_buf, sizeof pipe_buf, UD_X, &op));
                atomic_store(&x_op, op);
                atomic_store(&x_started, 1);
            }
            break;
        case UD_X:
            atomic_store(&x_result, e[i].result);
            atomic_store(&x_done, 1);
            break;
        case UD_W:
            atomic_store(&w_result, e[i].result);
            atomic_store(&w_done, 1);
            break;
        default: break;
        }
    }
}

static int wait_flag(_Atomic int *flag, uint32_t ms)
{
    uint64_t deadline = test_now_ms() + ms;
    while (!atomic_load(flag)) {
        if (test_now_ms() > deadline)
            return 0;
        test_sleep_ms(1);
    }
    return 1;
}

int main(void)
{
    if (!test_is_linux())
        test_skip("the order this test needs (a read completing inside its submission) is io_uring's");
    test_watchdog(100);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "cancel-reused");
    test_path(path, sizeof path, dir, "data.bin");
    uint8_t data[4096];
    test_fill(data, sizeof data, 3);
    test_write_file(path, data, sizeof data); /* written: its pages are cached */

    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.worker_threads = 1;
    o.max_batch = 1;
    o.callback = on_completions;
    iocph_port_t port = 0;
    test_create_port(&o, &port);
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 1, &file));
    iocph_handle_t pipe_w;
    CHECK_OK(iocph_pipe_create(port, 2, &pipe_r, &pipe_w));

    int tried = 0;
    for (;;) {
        if (++tried > 20)
            test_skip("the read was cancelled in the kernel every time (never completed inline)");
        atomic_store(&blocked, 0);
        atomic_store(&released, 0);
        atomic_store(&r_done, 0);
        atomic_store(&x_started, 0);
        CHECK_OK(iocph_port_post(port, 0, UD_BLOCK, 0));
        CHECK(wait_flag(&blocked, 5000));
        iocph_op_t r_op = 0;
        CHECK_OK(iocph_file_read(file, file_buf, sizeof file_buf, 0, UD_R, &r_op));
        CHECK_OK(iocph_op_cancel(file, r_op));
        atomic_store(&released, 1);
        CHECK(wait_flag(&r_done, 5000));
        if (atomic_load(&r_result) < 0) {
            CHECK_STATUS((int32_t)atomic_load(&r_result), IOCPH_E_CANCELED);
            continue; /* the cancel found R: not the order this test is about, again */
        }
        CHECK_EQ(atomic_load(&r_result), sizeof file_buf);
        CHECK(wait_flag(&x_started, 5000));
        uint64_t x = atomic_load(&x_op);
        /* The premise: X took R's slot at R's generation + 4,096. */
        CHECK_EQ((uint32_t)x, (uint32_t)r_op);
        CHECK_EQ((uint32_t)(x >> 32), (uint32_t)(r_op >> 32) + 4096u);
        break;
    }

    /* Nobody cancelled X: it waits for data. */
    test_sleep_ms(300);
    if (atomic_load(&x_done))
        test_fail(__FILE__, __LINE__,
                  "the pipe read that reused the slot completed without data: result %lld (%s)",
                  (long long)atomic_load(&x_result),
                  iocph_status_message((int32_t)atomic_load(&x_result)));
    CHECK_OK(iocph_pipe_write(pipe_w, "hi", 2, UD_W, NULL));
    CHECK(wait_flag(&x_done, 5000));
    CHECK_EQ(atomic_load(&x_result), 2);
    CHECK(memcmp(pipe_buf, "hi", 2) == 0);
    CHECK(wait_flag(&w_done, 5000));
    CHECK_EQ(atomic_load(&w_result), 2);

    CHECK_OK(iocph_handle_close(file));
    CHECK_OK(iocph_handle_close(pipe_r));
    CHECK_OK(iocph_handle_close(pipe_w));
    CHECK_OK(iocph_port_shutdown(port, 5000));
    CHECK_OK(iocph_port_destroy(port));
    test_remove_file(path);
    test_remove_dir(dir);
    printf("ok (%d tries)\n", tried);
    return 0;
}
