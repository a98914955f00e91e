/*
 * epoll_port.c - the epoll backend's port: workers and the file pool, handles, and the calls
 * that start and cancel operations from any thread; the backend's vtable.
 */
#include "epoll_internal.h"
#include "linux_os.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ---- workers ---- */

static int32_t start_worker(iocph__epoll_worker *w)
{
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return iocph__map_errno(errno);
    w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake_fd < 0)
        return iocph__map_errno(errno);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* level: read when woken */
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev) != 0)
        return iocph__map_errno(errno);
    w->batch = calloc(w->port->max_batch, sizeof *w->batch);
    w->events = calloc(w->port->max_batch, sizeof *w->events);
    if (!w->batch || !w->events)
        return IOCPH_E_NOMEM;
    int32_t rc = iocph__thread_start(&w->thread, iocph__epoll_worker_main, w);
    if (rc < 0)
        return rc;
    w->thread_started = true;
    return IOCPH_OK;
}

static void stop_worker(iocph__epoll_worker *w)
{
    if (!w->thread_started)
        return;
    atomic_store(&w->stop, 1);
    iocph__epoll_wake(w); /* unconditionally: it may sleep with nothing to wait for */
    iocph__thread_join(w->thread);
    iocph__epoll_drain_exited(w);
    w->thread_started = false;
}

static void free_workers(iocph__epoll_port *ep)
{
    for (uint32_t i = 0; i < ep->worker_count; i++) {
        iocph__epoll_worker *w = &ep->workers[i];
        while (w->zombies) {
            iocph__epoll_handle *next = w->zombies->next_zombie;
            free(w->zombies);
            w->zombies = next;
        }
        if (w->epfd >= 0)
            close(w->epfd);
        if (w->wake_fd >= 0)
            close(w->wake_fd);
        free(w->batch);
        free(w->events);
        free(w->requests.items);
        free(w->taken.items);
        free(w->deferred.items);
        iocph__timer_heap_free(&w->timers);
        iocph__mutex_destroy(&w->lock);
    }
    iocph__epoll_files_stop(&ep->files);
    free(ep->workers);
    free(ep);
}

static int32_t epoll_port_start(iocph__port *port)
{
    iocph__epoll_port *ep = calloc(1, sizeof *ep);
    if (!ep)
        return IOCPH_E_NOMEM;
    ep->worker_count = port->worker_threads ? port->worker_threads : 1;
    ep->workers = calloc(ep->worker_count, sizeof *ep->workers);
    if (!ep->workers) {
        free(ep);
        return IOCPH_E_NOMEM;
    }
    for (uint32_t i = 0; i < ep->worker_count; i++) {
        iocph__epoll_worker *w = &ep->workers[i];
        w->port = port;
        w->owner = ep;
        w->index = i;
        w->epfd = -1;
        w->wake_fd = -1;
        iocph__mutex_init(&w->lock);
    }
    const char *delay = iocph__getenv("IOCPH_TEST_EPOLL_TAKE_DELAY_US"); /* tests only */
    ep->test_take_delay_us = delay ? (uint32_t)strtoul(delay, NULL, 10) : 0;
    port->backend_data = ep;
    int32_t rc = iocph__epoll_files_start(&ep->files);
    for (uint32_t i = 0; rc == IOCPH_OK && i < ep->worker_count; i++)
        rc = start_worker(&ep->workers[i]);
    if (rc < 0) {
        for (uint32_t i = 0; i < ep->worker_count; i++)
            stop_worker(&ep->workers[i]);
        free_workers(ep);
        port->backend_data = NULL;
    }
    return rc;
}

static void epoll_port_stop(iocph__port *port)
{
    iocph__epoll_port *ep = iocph__epoll_port_of(port);
    for (uint32_t i = 0; i < ep->worker_count; i++)
        stop_worker(&ep->workers[i]);
    if (!port->callback)
        iocph__pull_wake_all(port);
}

static void epoll_port_free(iocph__port *port)
{
    iocph__epoll_port *ep = iocph__epoll_port_of(port);
    if (!ep)
        return;
    for (uint32_t i = 0; i < ep->worker_count; i++)
        stop_worker(&ep->workers[i]); /* no-op unless port_stop was skipped */
    free_workers(ep);
    port->backend_data = NULL;
}

/* ---- handles ---- */

static int32_t epoll_file_open(iocph__port *port, const char *path, uint32_t flags, intptr_t *os)
{
    (void)port;
    return iocph__linux_file_open(path, flags, os);
}

static int32_t epoll_pipe_create(iocph__port *port, intptr_t *read_os, intptr_t *write_os)
{
    (void)port;
    return iocph__linux_pipe_create(true, read_os, write_os);
}

static int32_t epoll_socket_create(iocph__port *port, uint32_t kind, int family, intptr_t *os)
{
    (void)port;
    return iocph__linux_socket_create(kind, family, true, os);
}

static int32_t epoll_handle_attach(iocph__port *port, iocph__handle *handle)
{
    iocph__epoll_port *ep = iocph__epoll_port_of(port);
    iocph__epoll_handle *hd = calloc(1, sizeof *hd);
    if (!hd)
        return IOCPH_E_NOMEM;
    hd->fd = (int)handle->os;
    hd->ready[IOCPH__EPOLL_LANE_SEND] = hd->ready[IOCPH__EPOLL_LANE_RECEIVE] = true;
    /* Round robin, like RSS: all of a handle's operations stay on one worker, in order. */
    handle->ring = atomic_fetch_add_explicit(&ep->next_worker, 1, memory_order_relaxed) %
                   ep->worker_count;
    if (handle->kind != IOCPH__KIND_FILE) {
        /* Registered once for both directions, edge-triggered: no epoll_ctl per operation. */
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = hd};
        if (epoll_ctl(ep->workers[handle->ring].epfd, EPOLL_CTL_ADD, hd->fd, &ev) != 0) {
            int32_t rc = iocph__map_errno(errno);
            free(hd);
            return rc;
        }
        hd->polled = true;
    }
    handle->backend_data = hd;
    return IOCPH_OK;
}

static void epoll_handle_close_os(iocph__handle *handle)
{
    iocph__epoll_handle *hd = handle->backend_data;
    if (hd && hd->polled) {
        /* Out of the set before the fd number can be reused; then the state waits for its
         * worker's next turn, since an event already returned may still name it. */
        epoll_ctl(iocph__epoll_worker_of(handle)->epfd, EPOLL_CTL_DEL, hd->fd, NULL);
    }
    if (handle->os >= 0 && !handle->os_borrowed) {
        close((int)handle->os);
        handle->os = -1;
    }
    if (hd) {
        handle->backend_data = NULL;
        iocph__epoll_bury(iocph__epoll_worker_of(handle), hd);
    }
}

static int32_t epoll_handle_adopt(iocph__port *port, uint32_t kind, intptr_t os, bool duplicate,
                                  iocph__adopt *adopt)
{
    (void)port;
    return iocph__linux_handle_adopt(kind, os, duplicate, true, adopt);
}

static void epoll_handle_unadopt(iocph__port *port, uint32_t kind, const iocph__adopt *adopt)
{
    (void)port;
    (void)kind;
    iocph__linux_handle_unadopt(adopt);
}

/* ---- operations ---- */

static int32_t epoll_op_submit(iocph__op *op)
{
    bool file_op = iocph__op_is_file_io(op);
    if (iocph__op_is_socket(op)) {
        iocph__epoll_sock_ext *ext = iocph__epoll_ext(op); /* NULL: a wait for data, no timeout */
        if (ext) {
            ext->op = op;
            ext->connecting = false;
            ext->timer.slot = 0;
            /* The time counts from the call, also while the op waits behind others in its lane. */
            uint32_t ms = op->sock->timeout_ms;
            ext->timer.deadline_ms = ms ? iocph__now_ms() + ms : 0;
        }
    } else if (!file_op && op->kind != IOCPH__OP_PIPE_READ && op->kind != IOCPH__OP_PIPE_WRITE) {
        return IOCPH_E_INVALID_ARGUMENT;
    }
    iocph__epoll_handle *hd = op->handle->backend_data;
    /* Counted before it is handed over; iocph_handle_close sets `closing` before it reads this
     * (both sequentially consistent), so either it sees the op or the starter sees `closing`
     * and cancels the op itself. */
    atomic_fetch_add(&hd->ops, 1);
    if (op->kind == IOCPH__OP_READ && !(op->handle->flags & IOCPH_FILE_UNBUFFERED)) {
        /* Try first, as for sockets: a read of pages already cached (preadv2 RWF_NOWAIT) is done
         * here and handed to the worker as finished, without a trip through a file thread (the
         * C push reader at depth 32: about 10 us of CPU per read through the pool). */
        uint32_t done = 0;
        if (iocph__linux_try_io(op->handle, IOCPH__OP_READ, op->buffer, op->length, op->offset,
                                &done) == IOCPH_OK) {
            op->value = done;
            op->backend_error = 0;
            atomic_store(&op->backend_state, IOCPH__EPOLL_OP_POOL_DONE);
            iocph__epoll_push(iocph__epoll_worker_of(op->handle), op);
            return IOCPH_OK;
        }
    }
    if (file_op) {
        int32_t rc = iocph__epoll_files_submit(op->port, op);
        if (rc < 0)
            atomic_fetch_sub(&hd->ops, 1);
        return rc;
    }
    iocph__epoll_push(iocph__epoll_worker_of(op->handle), op);
    return IOCPH_OK;
}

static int32_t epoll_port_post(iocph__port *port, iocph__op *op)
{
    iocph__epoll_port *ep = iocph__epoll_port_of(port);
    iocph__epoll_worker *w = iocph__epoll_current;
    /* A post from a callback stays on its own worker (no wake-up); others spread out. */
    if (!w || w->port != port) {
        uint32_t n = atomic_fetch_add_explicit(&ep->next_worker, 1, memory_order_relaxed);
        w = &ep->workers[n % ep->worker_count];
    }
    iocph__epoll_push(w, op);
    return IOCPH_OK;
}

/* Called without op->lock: op may finish and be reused meanwhile. The request names it by its
 * full generation, which the worker - the only thread that finishes ops of this handle - checks
 * before it acts, so a reused slot is never hit. Nothing is allocated unless the worker's list
 * must grow. */
static int32_t epoll_op_cancel(iocph__handle *handle, iocph__op *op, uint32_t generation)
{
    iocph__epoll_cancel c = {.op = op, .generation = generation};
    iocph__epoll_request(iocph__epoll_worker_of(handle), &c);
    return IOCPH_OK;
}

static int32_t epoll_handle_cancel_all(iocph__handle *handle)
{
    iocph__epoll_handle *hd = handle->backend_data;
    if (!hd || atomic_load(&hd->ops) == 0)
        return IOCPH_OK; /* nothing in flight (an op started concurrently may or may not be) */
    /* The request keeps the handle alive until the worker took it. A handle without any
     * reference left has nothing in flight: nothing to cancel. */
    if (!iocph__table_try_addref(handle->value))
        return IOCPH_OK;
    iocph__epoll_cancel c = {.handle = handle};
    if (!iocph__epoll_request(iocph__epoll_worker_of(handle), &c))
        iocph__table_release(handle->value);
    return IOCPH_OK;
}

/* The attempt itself is the plain nonblocking call. On the worker that owns the handle (its
 * callback: a C callback, an inline C# continuation) the worker knows more: a direction that saw
 * EAGAIN or a short read with no edge since declines without a system call, and what an attempt
 * learns is kept, so that the operation started after a declined receive waits for the edge
 * instead of trying again. An inline echo server then makes per round trip the calls of a plain
 * epoll loop: epoll_wait, recv, send. */
static int32_t epoll_try_io(iocph__handle *handle, int op_kind, void *buffer, uint32_t length,
                            uint64_t offset, uint32_t *done)
{
    iocph__epoll_handle *hd = handle->backend_data;
    bool owner = op_kind != IOCPH__OP_READ && hd &&
                 iocph__epoll_current == iocph__epoll_worker_of(handle);
    int lane = op_kind == IOCPH__OP_SEND ? IOCPH__EPOLL_LANE_SEND : IOCPH__EPOLL_LANE_RECEIVE;
    if (owner && !hd->ready[lane])
        return IOCPH_E_WOULD_BLOCK;
    int32_t rc = iocph__linux_try_io(handle, op_kind, buffer, length, offset, done);
    if (owner) {
        if (rc == IOCPH_E_WOULD_BLOCK ||
            (rc == IOCPH_OK && op_kind == IOCPH__OP_RECEIVE && !hd->hung_up && *done > 0 &&
             *done < length))
            hd->ready[lane] = false;
    }
    return rc;
}

/* Nonblocking like every socket of this backend. Also on the owning worker: an accept burst is
 * then taken in one callback instead of one accept per loop. */
static int32_t epoll_try_accept(iocph__handle *listener, intptr_t *os, void *sockaddr,
                                int *sockaddr_len)
{
    return iocph__linux_try_accept(listener, true, os, sockaddr, sockaddr_len);
}

const iocph__backend iocph__backend_epoll = {
    .id = IOCPH_BACKEND_EPOLL,
    .name = "epoll",
    .probe = NULL, /* epoll is in every Linux the library supports */
    .port_start = epoll_port_start,
    .port_post = epoll_port_post,
    .port_dequeue = iocph__pull_dequeue,
    .port_stop = epoll_port_stop,
    .port_free = epoll_port_free,
    .file_open = epoll_file_open,
    .file_length = iocph__linux_file_length,
    .pipe_create = epoll_pipe_create,
    .handle_attach = epoll_handle_attach,
    .handle_close_os = epoll_handle_close_os,
    .handle_adopt = epoll_handle_adopt,
    .handle_unadopt = epoll_handle_unadopt,
    .op_submit = epoll_op_submit,
    .op_cancel = epoll_op_cancel,
    .handle_cancel_all = epoll_handle_cancel_all,
    .worker_release = iocph__epoll_worker_release,
    .try_io = epoll_try_io,
    .try_accept = epoll_try_accept,
    .op_ext_size = sizeof(iocph__epoll_sock_ext),
    .socket_create = epoll_socket_create,
};
