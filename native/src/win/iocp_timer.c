/* Per-operation timeouts on IOCP: one timer thread per port (started by the first op with a
 * timeout) keeps a min-heap of deadlines. When one expires it marks the op timed out and cancels
 * its I/O (CancelIoEx), so the op completes through the port as usual and the completion turns
 * "aborted" into IOCPH_E_TIMEOUT.
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

#define NOT_ARMED UINT32_MAX

struct iocph__win_timers {
    iocph__mutex lock;
    HANDLE wake;          /* auto-reset: a new earliest deadline, or stop */
    iocph__thread thread;
    bool stop;
    /* When the thread wakes up next (UINT64_MAX: not before it is woken). Removals leave it:
     * the thread then wakes for nothing once, which is cheaper than a wake-up per removal. */
    uint64_t sleep_until;
    iocph__op **heap;     /* min-heap on ext->deadline; ext->heap_index is each op's place */
    uint32_t count, capacity;
};

static uint64_t deadline_of(iocph__op *op) { return iocph__win_ext(op)->deadline; }

static void place(iocph__win_timers *t, uint32_t i, iocph__op *op)
{
    t->heap[i] = op;
    iocph__win_ext(op)->heap_index = i;
}

static void sift_up(iocph__win_timers *t, uint32_t i)
{
    iocph__op *op = t->heap[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (deadline_of(t->heap[parent]) <= deadline_of(op))
            break;
        place(t, i, t->heap[parent]);
        i = parent;
    }
    place(t, i, op);
}

static void sift_down(iocph__win_timers *t, uint32_t i)
{
    iocph__op *op = t->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= t->count)
            break;
        if (child + 1 < t->count && deadline_of(t->heap[child + 1]) < deadline_of(t->heap[child]))
            child++;
        if (deadline_of(op) <= deadline_of(t->heap[child]))
            break;
        place(t, i, t->heap[child]);
        i = child;
    }
    place(t, i, op);
}

/* Takes the op at heap position i out of the heap. Called with the lock held. */
static void remove_at(iocph__win_timers *t, uint32_t i)
{
    iocph__win_ext(t->heap[i])->heap_index = NOT_ARMED;
    iocph__op *last = t->heap[--t->count];
    if (i == t->count)
        return;
    place(t, i, last);
    sift_down(t, i);
    sift_up(t, iocph__win_ext(last)->heap_index);
}

static void timer_main(void *arg)
{
    iocph__win_timers *t = arg;
    iocph__mutex_lock(&t->lock);
    while (!t->stop) {
        uint64_t now = iocph__now_ms();
        while (t->count && deadline_of(t->heap[0]) <= now) {
            iocph__op *op = t->heap[0];
            remove_at(t, 0);
            /* The flag first: the issuing thread checks it after its I/O call, so a timeout that
             * comes before the I/O exists (nothing for CancelIoEx to find) still cancels it. */
            atomic_store_explicit(&iocph__win_ext(op)->timed_out, 1, memory_order_seq_cst);
            CancelIoEx(iocph__win_os(op->handle), &op->ov);
        }
        DWORD wait = INFINITE;
        t->sleep_until = UINT64_MAX;
        if (t->count) {
            uint64_t left = deadline_of(t->heap[0]) - now;
            wait = left < INFINITE ? (DWORD)left : INFINITE - 1;
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
    ext->heap_index = NOT_ARMED;
    atomic_store_explicit(&ext->timed_out, 0, memory_order_relaxed);
    if (op->sock->timeout_ms == 0)
        return IOCPH_OK;
    iocph__win_port *w = op->port->backend_data;
    InitOnceExecuteOnce(&w->timers_once, start_timers, w, NULL);
    iocph__win_timers *t = w->timers;
    if (!t)
        return IOCPH_E_NOMEM;
    ext->deadline = iocph__now_ms() + op->sock->timeout_ms;
    iocph__mutex_lock(&t->lock);
    if (t->count == t->capacity) {
        /* Grows with the most timed ops ever in flight at once, then stays: no allocation per
         * op in steady state. */
        uint32_t capacity = t->capacity ? t->capacity * 2 : 64;
        iocph__op **grown = realloc(t->heap, (size_t)capacity * sizeof *grown);
        if (!grown) {
            iocph__mutex_unlock(&t->lock);
            return IOCPH_E_NOMEM;
        }
        t->heap = grown;
        t->capacity = capacity;
    }
    t->heap[t->count] = op;
    ext->heap_index = t->count++;
    sift_up(t, ext->heap_index);
    /* Wake the thread only if it would sleep past this deadline (with one timeout value for
     * every op, a new deadline is later than the one it sleeps until: no wake-up at all). */
    bool wake = ext->deadline < t->sleep_until;
    if (wake)
        t->sleep_until = ext->deadline;
    iocph__mutex_unlock(&t->lock);
    if (wake)
        SetEvent(t->wake);
    return IOCPH_OK;
}

void iocph__win_timer_disarm(iocph__op *op)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    if (op->sock->timeout_ms == 0)
        return; /* never armed */
    iocph__win_timers *t = ((iocph__win_port *)op->port->backend_data)->timers;
    if (!t)
        return; /* arming failed before the timer existed */
    iocph__mutex_lock(&t->lock);
    if (ext->heap_index != NOT_ARMED) /* NOT_ARMED: it expired, the thread took it out */
        remove_at(t, ext->heap_index);
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
    free(t->heap);
    free(t);
    w->timers = NULL;
}
