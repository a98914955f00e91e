/* Handing completions to the user: the batch callback (push mode) or the pull queue, and the
 * in-flight accounting that graceful shutdown waits on. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local iocph__port *current_port;

iocph__port *iocph__current_callback_port(void) { return current_port; }

void iocph__op_finish(iocph__op *op, int64_t result, int32_t os_error, iocph_completion *entry)
{
    /* The exactly-once rule, checked here for every backend: every path that ends an operation
     * (completion, cancel, timeout, close, shutdown) ends in this function, and the op returns to
     * the pool (kind FREE) in it. Finishing it again would hand the user a second completion for
     * one start, after the op may have been reused: a backend bug that must stop the process at
     * once (as the managed layer's tripwire does) rather than corrupt the caller's state. */
    if (op->kind == IOCPH__OP_FREE)
        abort();
    entry->user_data = op->user_data;
    entry->key = op->key;
    if (op->kind == IOCPH__OP_POST) {
        entry->result = op->value;
        entry->os_error = 0;
        entry->flags = IOCPH_COMPLETION_POSTED;
    } else {
        entry->result = result;
        entry->os_error = result < 0 ? os_error : 0;
        entry->flags = result < 0 ? IOCPH_COMPLETION_NONE : op->completion_flags;
    }
    iocph__handle *handle = op->handle;
    iocph__op_free(op);
    if (handle)
        iocph__table_release(handle->value); /* may close the OS handle: nothing is in flight */
}

/* count completions reached the user (or never reached the OS): no longer in flight. */
void iocph__ops_done(iocph__port *port, uint32_t count)
{
    uint64_t before = atomic_fetch_sub_explicit(&port->ops_in_flight, count, memory_order_acq_rel);
    if (before == count && atomic_load_explicit(&port->state, memory_order_acquire) !=
                               IOCPH__PORT_RUNNING) {
        /* Taking the lock orders this wake-up after the shutdown thread's check. */
        iocph__mutex_lock(&port->lock);
        iocph__cond_broadcast(&port->drained);
        iocph__mutex_unlock(&port->lock);
    }
}

void iocph__note_dequeued(iocph__port *port, uint32_t count)
{
    if (count == 0)
        return;
    atomic_fetch_add_explicit(&port->completions_delivered, count, memory_order_relaxed);
    atomic_fetch_add_explicit(&port->callback_batches, 1, memory_order_relaxed);
    iocph__ops_done(port, count);
}

static void pull_push(iocph__port *port, const iocph_completion *entries, uint32_t count)
{
    iocph__pull_queue *q = &port->pull;
    iocph__mutex_lock(&q->lock);
    while (q->count + count > q->capacity) {
        /* Grow (double) the ring buffer; a completion must never be dropped, so on allocation
         * failure wait and retry rather than lose it. */
        uint32_t capacity = q->capacity ? q->capacity * 2 : 256;
        iocph_completion *grown = malloc((size_t)capacity * sizeof *grown);
        if (!grown) {
            iocph__cond_wait(&q->ready, &q->lock, 10);
            continue;
        }
        for (uint32_t i = 0; i < q->count; i++)
            grown[i] = q->entries[(q->head + i) % (q->capacity ? q->capacity : 1)];
        free(q->entries);
        q->entries = grown;
        q->capacity = capacity;
        q->head = 0;
    }
    for (uint32_t i = 0; i < count; i++)
        q->entries[(q->head + q->count + i) % q->capacity] = entries[i];
    q->count += count;
    bool wake = q->waiters > 0;
    iocph__mutex_unlock(&q->lock);
    if (wake) {
        if (count == 1)
            iocph__cond_signal(&q->ready);
        else
            iocph__cond_broadcast(&q->ready);
    }
}

int32_t iocph__pull_dequeue(iocph__port *port, iocph_completion *entries, uint32_t max,
                            uint32_t timeout_ms, uint32_t *count)
{
    iocph__pull_queue *q = &port->pull;
    uint64_t deadline = iocph__now_ms() + (timeout_ms == IOCPH__INFINITE ? 0 : timeout_ms);
    iocph__mutex_lock(&q->lock);
    while (q->count == 0) {
        if (atomic_load_explicit(&port->state, memory_order_acquire) == IOCPH__PORT_SHUT_DOWN) {
            iocph__mutex_unlock(&q->lock);
            return IOCPH_E_SHUTDOWN;
        }
        uint32_t remaining = iocph__remaining_ms(deadline, timeout_ms);
        if (remaining == 0) {
            iocph__mutex_unlock(&q->lock);
            return IOCPH_E_TIMEOUT;
        }
        q->waiters++;
        iocph__cond_wait(&q->ready, &q->lock, remaining);
        q->waiters--;
    }
    uint32_t n = q->count < max ? q->count : max;
    for (uint32_t i = 0; i < n; i++)
        entries[i] = q->entries[(q->head + i) % q->capacity];
    q->head = (q->head + n) % q->capacity;
    q->count -= n;
    bool more = q->count > 0 && q->waiters > 0;
    iocph__mutex_unlock(&q->lock);
    if (more)
        iocph__cond_signal(&q->ready);
    *count = n;
    iocph__note_dequeued(port, n);
    return 0;
}

void iocph__pull_wake_all(iocph__port *port)
{
    iocph__mutex_lock(&port->pull.lock);
    iocph__cond_broadcast(&port->pull.ready);
    iocph__mutex_unlock(&port->pull.lock);
}

void iocph__deliver(iocph__port *port, const iocph_completion *entries, uint32_t count)
{
    if (count == 0)
        return;
    if (!port->callback) {
        pull_push(port, entries, count);
        return;
    }
    /* The semaphore only matters when more workers than the concurrency value exist. */
    bool capped = port->concurrency < port->worker_threads;
    if (capped)
        iocph__sem_wait(&port->callback_slots);
    iocph__port *outer = current_port;
    current_port = port;
    port->callback(port->callback_context, entries, count);
    current_port = outer;
    if (capped)
        iocph__sem_post(&port->callback_slots);
    atomic_fetch_add_explicit(&port->completions_delivered, count, memory_order_relaxed);
    atomic_fetch_add_explicit(&port->callback_batches, 1, memory_order_relaxed);
    iocph__ops_done(port, count);
}
