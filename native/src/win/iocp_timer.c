/* Per-operation timeouts on IOCP: a timer on the port's own timer queue marks the op timed out
 * and cancels its I/O (CancelIoEx), so the op completes through the port as usual and the
 * completion turns "aborted" into IOCPH_E_TIMEOUT.
 *
 * Lifetime: the timer callback touches op and its handle, both kept alive by the op being in
 * flight. The thread that finishes the op deletes the timer first and waits for a callback
 * already running (DeleteTimerQueueTimer with INVALID_HANDLE_VALUE): only then can the op go
 * back to the pool. Timer callbacks run on the timer queue's threads, never on a thread that
 * finishes ops, so that wait cannot deadlock. */
#include "iocp_internal.h"

static BOOL CALLBACK create_queue(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once;
    (void)context;
    iocph__win_port *w = param;
    /* Failure leaves timers NULL: every op with a timeout is then refused with NOMEM. */
    w->timers = CreateTimerQueue();
    return TRUE;
}

static VOID CALLBACK expired(PVOID param, BOOLEAN timer_fired)
{
    (void)timer_fired;
    iocph__op *op = param;
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    /* The flag first: the issuing thread checks it after its I/O call, so a timer that fires
     * before the I/O exists (nothing for CancelIoEx to find) still cancels it. */
    atomic_store_explicit(&ext->timed_out, 1, memory_order_seq_cst);
    CancelIoEx(iocph__win_os(op->handle), &op->ov);
}

int32_t iocph__win_timer_arm(iocph__op *op)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    ext->timer = NULL;
    atomic_store_explicit(&ext->timed_out, 0, memory_order_relaxed);
    if (op->sock->timeout_ms == 0)
        return IOCPH_OK;
    iocph__win_port *w = op->port->backend_data;
    InitOnceExecuteOnce(&w->timers_once, create_queue, w, NULL);
    if (!w->timers)
        return IOCPH_E_NOMEM;
    /* WT_EXECUTEINTIMERTHREAD: the callback is two atomic stores and a CancelIoEx, too short to
     * be worth a hand-off to a pool thread. */
    if (!CreateTimerQueueTimer(&ext->timer, w->timers, expired, op, op->sock->timeout_ms, 0,
                               WT_EXECUTEONLYONCE | WT_EXECUTEINTIMERTHREAD)) {
        ext->timer = NULL;
        return iocph__map_win32(GetLastError());
    }
    return IOCPH_OK;
}

void iocph__win_timer_disarm(iocph__op *op)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    if (!ext->timer)
        return;
    iocph__win_port *w = op->port->backend_data;
    /* INVALID_HANDLE_VALUE: wait for a running callback. ERROR_IO_PENDING only comes without
     * that wait, so any failure here means the timer is gone already. */
    DeleteTimerQueueTimer(w->timers, ext->timer, INVALID_HANDLE_VALUE);
    ext->timer = NULL;
}

void iocph__win_timers_free(iocph__win_port *w)
{
    /* Nothing is in flight any more, so no timer is left; wait for the queue's thread anyway. */
    if (w->timers)
        DeleteTimerQueueEx(w->timers, INVALID_HANDLE_VALUE);
    w->timers = NULL;
}
