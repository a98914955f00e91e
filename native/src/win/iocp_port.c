/* The completion port itself: creation with the port's concurrency value, the push-mode worker
 * threads, user posts, and stopping (one wake-up packet per worker: under Wine, closing the
 * port does not wake the threads waiting on it). */
#include "iocp_internal.h"

#include <stdlib.h>

typedef struct worker_arg {
    iocph__port *port;
    uint32_t index;
} worker_arg;

/* Posts a control packet (no OVERLAPPED). It must get through: a worker that is never woken is
 * never joined. Only a shortage of kernel memory makes the post fail for a moment. */
void iocph__win_post_control(HANDLE iocp, ULONG_PTR key)
{
    while (!PostQueuedCompletionStatus(iocp, 0, key, NULL)) {
        DWORD error = GetLastError();
        if (error != ERROR_NOT_ENOUGH_MEMORY && error != ERROR_NO_SYSTEM_RESOURCES &&
            error != ERROR_OUTOFMEMORY)
            return; /* the port itself is unusable: there is no waiter to wake */
        Sleep(1);
    }
}

/* One push-mode worker: many packets per GetQueuedCompletionStatusEx, one callback per batch. */
static void worker_main(void *arg_)
{
    worker_arg *arg = arg_;
    iocph__port *port = arg->port;
    iocph__win_port *w = port->backend_data;
    OVERLAPPED_ENTRY *raw = w->raw + (size_t)arg->index * port->max_batch;
    iocph_completion *batch = w->batches + (size_t)arg->index * port->max_batch;
    free(arg);

    for (;;) {
        ULONG got = 0;
        if (!GetQueuedCompletionStatusEx(w->iocp, raw, port->max_batch, &got, INFINITE, FALSE))
            return; /* only when the port handle is gone: nothing left to serve */
        atomic_fetch_add_explicit(&port->os_waits, 1, memory_order_relaxed);
        uint32_t n = 0, wakes = 0;
        for (ULONG i = 0; i < got; i++) {
            if (raw[i].lpCompletionKey == IOCPH__WIN_KEY_WAKE)
                wakes++;
            else
                n += iocph__win_packet(port, &raw[i], &batch[n]);
        }
        iocph__deliver(port, batch, n);
        if (wakes) {
            /* One wake-up per worker: pass on the ones that were meant for the others. */
            while (--wakes)
                iocph__win_post_control(w->iocp, IOCPH__WIN_KEY_WAKE);
            return;
        }
    }
}

/* Joins every started worker; each exits on its own KEY_WAKE packet. */
static void stop_workers(iocph__win_port *w)
{
    for (uint32_t i = 0; i < w->worker_count; i++)
        iocph__win_post_control(w->iocp, IOCPH__WIN_KEY_WAKE);
    for (uint32_t i = 0; i < w->worker_count; i++)
        iocph__thread_join(w->workers[i]);
    w->worker_count = 0;
}

static void free_port(iocph__win_port *w)
{
    iocph__win_timers_free(w);
    if (w->iocp)
        CloseHandle(w->iocp);
    free(w->workers);
    free(w->raw);
    free(w->batches);
    free(w);
}

int32_t iocph__win_port_start(iocph__port *port)
{
    iocph__win_port *w = calloc(1, sizeof *w);
    if (!w)
        return IOCPH_E_NOMEM;
    w->iocp = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, port->concurrency);
    if (!w->iocp) {
        int32_t rc = iocph__map_win32(GetLastError());
        free(w);
        return rc;
    }
    port->backend_data = w;
    const char *failing = iocph__getenv("IOCPH_TEST_FAIL_POSTS"); /* tests only: iocp_outcome.c */
    if (failing)
        atomic_init(&w->test_failing_posts, (uint32_t)strtoul(failing, NULL, 10));
    if (!port->callback)
        return IOCPH_OK; /* pull mode: the caller's threads dequeue, no workers */

    size_t slots = (size_t)port->worker_threads * port->max_batch;
    w->workers = calloc(port->worker_threads, sizeof *w->workers);
    w->raw = calloc(slots, sizeof *w->raw);
    w->batches = calloc(slots, sizeof *w->batches);
    int32_t rc = (w->workers && w->raw && w->batches) ? IOCPH_OK : IOCPH_E_NOMEM;
    for (uint32_t i = 0; rc == IOCPH_OK && i < port->worker_threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (!arg) {
            rc = IOCPH_E_NOMEM;
            break;
        }
        arg->port = port;
        arg->index = i;
        rc = iocph__thread_start(&w->workers[i], worker_main, arg);
        if (rc < 0)
            free(arg);
        else
            w->worker_count++;
    }
    if (rc < 0) {
        stop_workers(w);
        free_port(w);
        port->backend_data = NULL;
    }
    return rc;
}

int32_t iocph__win_port_post(iocph__port *port, iocph__op *op)
{
    /* iocph__op_finish reports a POST with op->value and the POSTED flag. */
    return iocph__win_post_outcome(op, op->value, 0);
}

void iocph__win_port_stop(iocph__port *port)
{
    iocph__win_port *w = port->backend_data;
    if (port->callback) {
        stop_workers(w);
        return;
    }
    if (!w->shutdown_posted) {
        iocph__win_post_control(w->iocp, IOCPH__WIN_KEY_SHUTDOWN);
        w->shutdown_posted = true;
    }
}

void iocph__win_port_free(iocph__port *port)
{
    iocph__win_port *w = port->backend_data;
    if (!w)
        return;
    stop_workers(w); /* normally done by port_stop already */
    free_port(w);
    port->backend_data = NULL;
}
