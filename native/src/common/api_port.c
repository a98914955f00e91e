/* The port's public functions: argument checks, lifecycle and graceful shutdown. The backend does
 * the OS work; everything here is the same on every platform. */
#include "api_shared.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_QUEUE_DEPTH 256u
#define DEFAULT_MAX_BATCH 64u
#define MAX_MAX_BATCH 1024u
#define MAX_WORKERS 256u
/* While shutdown waits for operations to drain, it cancels again this often: an operation that
 * passed the port-state check just before shutdown began may reach the OS after the first
 * round of cancels. */
#define SHUTDOWN_RECANCEL_MS 50u

uint32_t iocph_version(void) { return IOCPH_VERSION; }

int32_t iocph_port_options_init(iocph_port_options *options)
{
    if (!options)
        return IOCPH_E_INVALID_ARGUMENT;
    memset(options, 0, sizeof *options);
    options->size = sizeof *options;
    return IOCPH_OK;
}

static void port_finalize(void *object)
{
    iocph__port *port = object;
    if (port->started)
        port->backend->port_free(port);
    iocph__pool_destroy(&port->pool);
    free(port->pull.entries);
    iocph__cond_destroy(&port->pull.ready);
    iocph__mutex_destroy(&port->pull.lock);
    iocph__sem_destroy(&port->callback_slots);
    iocph__cond_destroy(&port->drained);
    iocph__mutex_destroy(&port->shutdown_lock);
    iocph__mutex_destroy(&port->lock);
    free(port);
}

int32_t iocph_port_create(const iocph_port_options *options, iocph_port_t *port_out)
{
    if (!options || !port_out || options->size != sizeof(iocph_port_options))
        return IOCPH_E_INVALID_ARGUMENT;
    if (options->max_batch > MAX_MAX_BATCH || options->queue_depth > IOCPH_MAX_OPS ||
        options->worker_threads > MAX_WORKERS)
        return IOCPH_E_INVALID_ARGUMENT;
    if (options->backend < IOCPH_BACKEND_DEFAULT || options->backend > IOCPH_BACKEND_EPOLL)
        return IOCPH_E_INVALID_ARGUMENT;
    *port_out = 0;

    iocph__port *port = calloc(1, sizeof *port);
    if (!port)
        return IOCPH_E_NOMEM;
    int32_t rc;
    uint32_t cpus = iocph__cpu_count();
    port->callback = options->callback;
    port->callback_context = options->callback_context;
    port->worker_threads = options->worker_threads ? options->worker_threads
                           : options->callback     ? cpus
                                                   : 1;
    port->concurrency = options->concurrency ? options->concurrency : cpus;
    port->queue_depth = options->queue_depth ? options->queue_depth : DEFAULT_QUEUE_DEPTH;
    port->max_batch = options->max_batch ? options->max_batch : DEFAULT_MAX_BATCH;
    iocph__mutex_init(&port->lock);
    iocph__mutex_init(&port->shutdown_lock);
    iocph__cond_init(&port->drained);
    iocph__sem_init(&port->callback_slots, port->concurrency);
    iocph__mutex_init(&port->pull.lock);
    iocph__cond_init(&port->pull.ready);
    atomic_init(&port->state, IOCPH__PORT_RUNNING);

    rc = iocph__pool_init(&port->pool, port->queue_depth);
    if (rc < 0) {
        port_finalize(port);
        return rc;
    }
    rc = iocph__table_insert(IOCPH__KIND_PORT, port, port_finalize, &port->value);
    if (rc < 0) {
        port_finalize(port);
        return rc;
    }
    rc = iocph__backend_start(port, options->backend);
    if (rc < 0) {
        iocph__table_close(port->value); /* finalizes: started is false */
        return rc;
    }
    port->started = true;
    *port_out = port->value;
    return IOCPH_OK;
}

iocph__port *iocph__port_acquire(iocph_port_t value)
{
    return iocph__table_acquire(value, 1u << IOCPH__KIND_PORT);
}

void iocph__port_release(iocph__port *port) { iocph__table_release(port->value); }

int32_t iocph__port_enter(iocph__port *port)
{
    atomic_fetch_add_explicit(&port->ops_in_flight, 1, memory_order_acq_rel);
    if (atomic_load_explicit(&port->state, memory_order_acquire) != IOCPH__PORT_RUNNING) {
        iocph__ops_done(port, 1);
        return IOCPH_E_SHUTDOWN;
    }
    atomic_fetch_add_explicit(&port->ops_started, 1, memory_order_relaxed);
    return IOCPH_OK;
}

/* A start refused after iocph__port_enter let it in: it was never accepted, so it is neither in
 * flight nor counted as started (ops_started counts what the caller was told started). */
void iocph__port_leave(iocph__port *port)
{
    atomic_fetch_sub_explicit(&port->ops_started, 1, memory_order_relaxed);
    iocph__ops_done(port, 1);
}

int32_t iocph_port_get_backend(iocph_port_t value, int32_t *backend)
{
    if (!backend)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__port *port = iocph__port_acquire(value);
    if (!port)
        return IOCPH_E_BADHANDLE;
    *backend = port->backend_id;
    iocph__port_release(port);
    return IOCPH_OK;
}

int32_t iocph_port_post(iocph_port_t value, uint64_t key, uint64_t user_data, int64_t posted)
{
    iocph__port *port = iocph__port_acquire(value);
    if (!port)
        return IOCPH_E_BADHANDLE;
    int32_t rc = iocph__port_enter(port);
    if (rc == IOCPH_OK) {
        iocph__op *op = iocph__op_alloc(port);
        if (!op) {
            rc = IOCPH_E_NOMEM;
        } else {
            op->key = key;
            op->user_data = user_data;
            op->value = posted;
            op->kind = IOCPH__OP_POST;
            rc = port->backend->port_post(port, op);
            if (rc < 0)
                iocph__op_free(op);
        }
        if (rc < 0)
            iocph__port_leave(port);
    }
    iocph__port_release(port);
    return rc;
}

int32_t iocph_port_dequeue(iocph_port_t value, iocph_completion *entries, uint32_t max,
                           uint32_t timeout_ms, uint32_t *count)
{
    if (count)
        *count = 0;
    if (!entries || !count || max == 0)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__port *port = iocph__port_acquire(value);
    if (!port)
        return IOCPH_E_BADHANDLE;
    int32_t rc = port->callback ? IOCPH_E_WRONG_MODE
                                : port->backend->port_dequeue(port, entries, max, timeout_ms, count);
    iocph__port_release(port);
    return rc;
}

/* Asks the backend to cancel everything in flight on every handle of the port. */
static void cancel_everything(iocph__port *port)
{
    iocph__mutex_lock(&port->lock);
    for (iocph__handle *h = port->handles; h; h = h->next)
        port->backend->handle_cancel_all(h);
    iocph__mutex_unlock(&port->lock);
}

/* Waits until nothing is in flight, cancelling again every SHUTDOWN_RECANCEL_MS. */
static int32_t drain(iocph__port *port, uint32_t timeout_ms)
{
    uint64_t deadline = iocph__now_ms() + (timeout_ms == IOCPH__INFINITE ? 0 : timeout_ms);
    for (;;) {
        cancel_everything(port);
        iocph__mutex_lock(&port->lock);
        uint32_t remaining = iocph__remaining_ms(deadline, timeout_ms);
        if (atomic_load_explicit(&port->ops_in_flight, memory_order_acquire) != 0 && remaining)
            iocph__cond_wait(&port->drained, &port->lock,
                             remaining < SHUTDOWN_RECANCEL_MS ? remaining : SHUTDOWN_RECANCEL_MS);
        bool empty = atomic_load_explicit(&port->ops_in_flight, memory_order_acquire) == 0;
        iocph__mutex_unlock(&port->lock);
        if (empty)
            return IOCPH_OK;
        if (iocph__remaining_ms(deadline, timeout_ms) == 0)
            return IOCPH_E_TIMEOUT;
    }
}

static int32_t shutdown_port(iocph__port *port, uint32_t timeout_ms)
{
    iocph__mutex_lock(&port->shutdown_lock);
    if (atomic_load_explicit(&port->state, memory_order_acquire) == IOCPH__PORT_SHUT_DOWN) {
        iocph__mutex_unlock(&port->shutdown_lock);
        return IOCPH_E_SHUTDOWN;
    }
    atomic_store_explicit(&port->state, IOCPH__PORT_SHUTTING_DOWN, memory_order_release);
    int32_t rc = drain(port, timeout_ms);
    if (rc == IOCPH_OK) {
        port->backend->port_stop(port);
        atomic_store_explicit(&port->state, IOCPH__PORT_SHUT_DOWN, memory_order_release);
        iocph__pull_wake_all(port);
    }
    iocph__mutex_unlock(&port->shutdown_lock);
    return rc;
}

int32_t iocph_port_shutdown(iocph_port_t value, uint32_t timeout_ms)
{
    iocph__port *port = iocph__port_acquire(value);
    if (!port)
        return IOCPH_E_BADHANDLE;
    int32_t rc = iocph__current_callback_port() == port ? IOCPH_E_WRONGTHREAD
                                                         : shutdown_port(port, timeout_ms);
    iocph__port_release(port);
    return rc;
}

int32_t iocph_port_destroy(iocph_port_t value)
{
    iocph__port *port = iocph__port_acquire(value);
    if (!port)
        return IOCPH_E_BADHANDLE;
    if (iocph__current_callback_port() == port) {
        iocph__port_release(port);
        return IOCPH_E_WRONGTHREAD;
    }
    if (port->callback) {
        shutdown_port(port, IOCPH__INFINITE); /* IOCPH_E_SHUTDOWN: already done */
    } else {
        /* Pull mode: nobody may be dequeuing any more; discard what arrives until drained. */
        iocph_completion discard[64];
        while (shutdown_port(port, SHUTDOWN_RECANCEL_MS) == IOCPH_E_TIMEOUT) {
            uint32_t n;
            while (port->backend->port_dequeue(port, discard, 64, 0, &n) == IOCPH_OK && n)
                ;
        }
    }
    if (!iocph__table_close(port->value)) {
        iocph__port_release(port); /* somebody else destroyed it meanwhile */
        return IOCPH_E_BADHANDLE;
    }
    /* Close what the user left open; each handle drops its reference on the port. A handle that
     * another thread is closing right now stays in the list until its last reference goes (a
     * call in progress on it, say): it is skipped, never a reason to stop, or every handle after
     * it would stay open. Its `closing` flag says so, or, in the instant before the other thread
     * sets it, our close fails: then look past that one (`after`). */
    iocph_handle_t after = 0;
    for (;;) {
        iocph__mutex_lock(&port->lock);
        iocph__handle *h = port->handles;
        if (after) {
            iocph__handle *failed = h;
            while (failed && failed->value != after)
                failed = failed->next;
            if (failed)
                h = failed->next; /* (gone already: start again from the head) */
        }
        while (h && atomic_load_explicit(&h->closing, memory_order_seq_cst))
            h = h->next;
        iocph_handle_t next = h ? h->value : 0;
        iocph__mutex_unlock(&port->lock);
        if (!next)
            break;
        after = iocph_handle_close(next) == IOCPH_OK ? 0 : next;
    }
    iocph__port_release(port); /* the last reference frees the port */
    return IOCPH_OK;
}

int32_t iocph_port_get_stats(iocph_port_t value, iocph_port_stats *stats)
{
    if (!stats || stats->size != sizeof(iocph_port_stats))
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__port *port = iocph__port_acquire(value);
    if (!port)
        return IOCPH_E_BADHANDLE;
    stats->worker_threads =
        atomic_load_explicit(&port->state, memory_order_acquire) == IOCPH__PORT_SHUT_DOWN
            ? 0
            : (port->callback || port->backend_id != IOCPH_BACKEND_IOCP ? port->worker_threads : 0);
    stats->ops_in_flight = atomic_load_explicit(&port->ops_in_flight, memory_order_relaxed);
    stats->ops_started = atomic_load_explicit(&port->ops_started, memory_order_relaxed);
    stats->completions_delivered =
        atomic_load_explicit(&port->completions_delivered, memory_order_relaxed);
    stats->callback_batches = atomic_load_explicit(&port->callback_batches, memory_order_relaxed);
    stats->handles_open = atomic_load_explicit(&port->handles_open, memory_order_relaxed);
    stats->os_waits = atomic_load_explicit(&port->os_waits, memory_order_relaxed);
    iocph__port_release(port);
    return IOCPH_OK;
}
