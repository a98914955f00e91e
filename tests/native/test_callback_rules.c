/* What a callback may and may not do: start operations, post, close and cancel from inside
 * (every function may be called there), but not shut down or destroy its own port
 * (IOCPH_E_WRONGTHREAD). A chain of pipe reads restarted from the callback carries data. */
#include "test_util.h"

#define ROUNDS 200

static iocph_port_t port;
static iocph_handle_t r, w;
static char rbuf[64];
static _Atomic uint64_t reads_done;
static _Atomic uint64_t posts_done;
static _Atomic uint64_t bad;
static _Atomic uint64_t wrongthread;
static _Atomic uint64_t canceled;

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        const iocph_completion *c = &entries[i];
        if (c->flags == IOCPH_COMPLETION_POSTED) {
            if (c->user_data == 1) {
                /* Shutdown and destroy from the port's own callback are refused. */
                if (iocph_port_shutdown(port, 0) == IOCPH_E_WRONGTHREAD &&
                    iocph_port_destroy(port) == IOCPH_E_WRONGTHREAD)
                    atomic_fetch_add(&wrongthread, 1);
                else
                    atomic_fetch_add(&bad, 1);
            } else if (c->user_data >= 100 && c->user_data < 100 + ROUNDS) {
                /* A post from a callback: the next round. */
                if (c->user_data + 1 < 100 + ROUNDS &&
                    iocph_port_post(port, 0, c->user_data + 1, 0) != IOCPH_OK)
                    atomic_fetch_add(&bad, 1);
            }
            atomic_fetch_add(&posts_done, 1);
            continue;
        }
        if (c->user_data == 7) { /* pipe read */
            if (c->result == IOCPH_E_CANCELED) {
                atomic_fetch_add(&canceled, 1);
                continue;
            }
            if (c->result != 1 || rbuf[0] != 'x') {
                atomic_fetch_add(&bad, 1);
                continue;
            }
            uint64_t done = atomic_fetch_add(&reads_done, 1) + 1;
            /* Restart the read, then write the byte it will receive. */
            if (done < ROUNDS) {
                if (iocph_pipe_read(r, rbuf, 1, 7, NULL) != IOCPH_OK ||
                    iocph_pipe_write(w, "x", 1, 8, NULL) != IOCPH_OK)
                    atomic_fetch_add(&bad, 1);
            } else {
                /* Last round: a read left pending, cancelled by closing from the callback. */
                if (iocph_pipe_read(r, rbuf, 1, 7, NULL) != IOCPH_OK ||
                    iocph_handle_close(r) != IOCPH_OK)
                    atomic_fetch_add(&bad, 1);
            }
        } else if (c->user_data == 8) {
            if (c->result != 1)
                atomic_fetch_add(&bad, 1);
        } else {
            atomic_fetch_add(&bad, 1);
        }
    }
}

int main(void)
{
    test_watchdog(60);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 2;
    test_create_port(&o, &port);

    CHECK_OK(iocph_port_post(port, 0, 1, 0));
    CHECK_OK(iocph_pipe_create(port, 0, &r, &w));
    CHECK_OK(iocph_pipe_read(r, rbuf, 1, 7, NULL));
    CHECK_OK(iocph_pipe_write(w, "x", 1, 8, NULL));
    CHECK_OK(iocph_port_post(port, 0, 100, 0));

    CHECK(test_wait_count(&reads_done, ROUNDS, 20000));
    CHECK(test_wait_count(&canceled, 1, 5000));
    CHECK(test_wait_count(&posts_done, 1 + ROUNDS, 5000));
    CHECK(test_wait_count(&wrongthread, 1, 5000));
    CHECK_OK(iocph_port_shutdown(port, 5000));
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&reads_done), ROUNDS);
    CHECK_EQ(atomic_load(&canceled), 1);
    CHECK_EQ(atomic_load(&posts_done), 1 + ROUNDS);
    CHECK_STATUS(iocph_handle_close(r), IOCPH_E_BADHANDLE); /* closed by the callback */
    CHECK_OK(iocph_handle_close(w));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
