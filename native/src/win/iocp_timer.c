/* Per-operation timeouts on IOCP: one timer thread per port (started by the first op with a
 * timeout) keeps a min-heap of deadlines. When one expires it marks the op timed out and cancels
 * its I/O (CancelIoEx), so the op completes through the port as usual and the completion turns
 * "aborted" into IOCPH_E_TIMEOUT.
 *
 * The heap itself is the common one (common/timer_heap.c), kept under this port's lock.
 *
 * Why not CreateTimerQueueTimer: creating and deleting a timer-queue timer each hop to the
 * queue's thread and allocate, for every op (measured under Wine: +130 us per op). Here arming
 * and disarming are a lock and a heap step on memory the op already owns (its ext); the thread
 * is woken only when a new deadline comes before the time it sleeps until.
 *
 * Lifetime: the thread touches an op only while the op is in the heap and only under the lock.
 * The thread that finishes the op disarms it first (takes it out of the heap under the lock), so
 * once iocph__win_timer_disarm returns the timer can no longer touch the op and it may go back
 * to the pool. CancelIoEx does not block, so holding the lock across it is cheap. */
#include "iocp_internal.h"

#include <stdlib.h>

struct iocph__win_timers {
    iocph__mutex lock;
    HANDLE wake;          /* auto-reset: a new earliest deadline, or stop */
    iocph__thread thread;
    bool stop;
    /* When the thread wakes up next (UINT64_MAX: not before it is woken). Removals leave it:
     * the thread then wakes for nothing once, which is cheaper than a wake-up per removal. */
    uint64_t sleep_until;
    iocph__timer_heap heap; /* common/timer_heap.c, under the lock */
};

static void timer_main(void *arg)
{
    iocph__win_timers *t = arg;
    iocph__mutex_lock(&t->lock);
    while (!t->stop) {
        uint64_t now = iocph__now_ms();
        iocph__timer *first;
        while ((first = iocph__timer_heap_first(&t->heap)) && first->deadline_ms <= now) {
            iocph__timer_heap_remove(&t->heap, first);
            iocph__op *op = IOCPH__CONTAINER_OF(first, iocph__win_sock_ext, timer)->op;
            /* The flag first: the issuing thread checks it after its I/O call, so a timeout that
             * comes before the I/O exists (nothing for CancelIoEx to find) still cancels it. */
            atomic_store_explicit(&iocph__win_ext(op)->timed_out, 1, memory_order_seq_cst);
            CancelIoEx(iocph__win_os(op->handle), &op->ov);
        }
        DWORD wait = INFINITE;
        t->sleep_until = UINT64_MAX;
        int left = iocph__timer_heap_wait_ms(&t->heap, now);
        if (left >= 0) {
            wait = (DWORD)left;
            t->sleep_until = now + wait;
        }
        iocph__mutex_unlock(&t->lock);
        WaitForSingleObject(t->wake, wait);
        iocph__mutex_lock(&t->lock);
    }
    iocph__mutex_unlock(&t->lock);
}

static BOOL CALLBACK start_timers(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once;
    (void)context;
    iocph__win_port *w = param;
    /* Failure leaves w->timers NULL: every op with a timeout is then refused with NOMEM. */
    iocph__win_timers *t = calloc(1, sizeof *t);
    if (!t)
        return TRUE;
    iocph__mutex_init(&t->lock);
    t->sleep_until = UINT64_MAX;
    t->wake = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (t->wake && iocph__thread_start(&t->thread, timer_main, t) == 0) {
        w->timers = t;
        return TRUE;
    }
    if (t->wake)
        CloseHandle(t->wake);
    iocph__mutex_destroy(&t->lock);
    free(t);
    return TRUE;
}

int32_t iocph__win_timer_arm(iocph__op *op)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    if (!ext)
        return IOCPH_OK; /* no socket block: a wait for data without a timeout */
    ext->timer.slot = 0;
    ext->op = op;
    atomic_store_explicit(&ext->timed_out, 0, memory_order_relaxed);
    if (op->sock->timeout_ms == 0)
        return IOCPH_OK;
    iocph__win_port *w = op->port->backend_data;
    InitOnceExecuteOnce(&w->timers_once, start_timers, w, NULL);
    iocph__win_timers *t = w->timers;
    if (!t)
        return IOCPH_E_NOMEM;
    ext->timer.deadline_ms = iocph__now_ms() + op->sock->timeout_ms;
    iocph__mutex_lock(&t->lock);
    /* The heap grows with the most timed ops ever in flight at once, then stays: no allocation
     * per op in steady state. */
    if (iocph__timer_heap_add(&t->heap, &ext->timer) < 0) {
        iocph__mutex_unlock(&t->lock);
        return IOCPH_E_NOMEM;
    }
    /* Wake the thread only if it would sleep past this deadline (with one timeout value for
     * every op, a new deadline is later than the one it sleeps until: no wake-up at all). */
    bool wake = ext->timer.deadline_ms < t->sleep_until;
    if (wake)
        t->sleep_until = ext->timer.deadline_ms;
    iocph__mutex_unlock(&t->lock);
    if (wake)
        SetEvent(t->wake);
    return IOCPH_OK;
}

void iocph__win_timer_disarm(iocph__op *op)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    if (iocph__op_timeout_ms(op) == 0)
        return; /* never armed (or no socket block at all) */
    iocph__win_timers *t = ((iocph__win_port *)op->port->backend_data)->timers;
    if (!t)
        return; /* arming failed before the timer existed */
    iocph__mutex_lock(&t->lock);
    iocph__timer_heap_remove(&t->heap, &ext->timer); /* no-op if it expired: the thread took it */
    iocph__mutex_unlock(&t->lock);
}

void iocph__win_timers_free(iocph__win_port *w)
{
    iocph__win_timers *t = w->timers;
    if (!t)
        return;
    /* Nothing is in flight any more, so the heap is empty: stop and join the thread. */
    iocph__mutex_lock(&t->lock);
    t->stop = true;
    iocph__mutex_unlock(&t->lock);
    SetEvent(t->wake);
    iocph__thread_join(t->thread);
    CloseHandle(t->wake);
    iocph__mutex_destroy(&t->lock);
    iocph__timer_heap_free(&t->heap);
    free(t);
    w->timers = NULL;
}
