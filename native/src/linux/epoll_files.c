/*
 * epoll_files.c - regular files on the epoll backend: a small pool of blocking threads.
 *
 * Regular files are always "ready" to epoll (it refuses them outright), so, as libuv does, their
 * reads, writes and flushes run as plain pread/pwrite/fsync on pool threads. Threads start when
 * work arrives and none is idle, up to max_threads (IOCPH_EPOLL_FILE_THREADS, default 8: enough
 * for a device queue of unbuffered reads, few enough for a container), and stay until the port
 * stops. A finished op goes back to the worker that owns its handle, which delivers it in its
 * batches, so callbacks run on the port's workers and the concurrency value holds.
 *
 * Cancelling: an op still queued is taken back and completes with IOCPH_E_CANCELED; an op a pool
 * thread has started can't be stopped (a blocking pread has no cancel) and completes with its
 * real result when the system call returns. The header says so.
 */
#include "epoll_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFAULT_FILE_THREADS 8u
#define MAX_FILE_THREADS 256u

static void run(iocph__op *op)
{
    int fd = (int)op->handle->os;
    ssize_t n;
    bool positional = true;
    for (;;) {
        switch (op->kind) {
        case IOCPH__OP_READ:
            n = positional ? pread(fd, op->buffer, op->length, (off_t)op->offset)
                           : read(fd, op->buffer, op->length);
            break;
        case IOCPH__OP_WRITE:
            n = positional ? pwrite(fd, op->buffer, op->length, (off_t)op->offset)
                           : write(fd, op->buffer, op->length);
            break;
        default: n = fsync(fd); break; /* IOCPH__OP_FLUSH */
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* A FIFO or a character device opened as a file has no offset (ESPIPE): read and write
         * it in stream order, as io_uring does. */
        if (n < 0 && errno == ESPIPE && positional && op->kind != IOCPH__OP_FLUSH) {
            positional = false;
            continue;
        }
        break;
    }
    if (n < 0) {
        op->backend_error = errno;
        op->value = iocph__map_errno(errno);
    } else {
        op->backend_error = 0;
        op->value = n;
    }
}

static void pool_main(void *arg)
{
    iocph__epoll_files *files = arg;
    iocph__mutex_lock(&files->lock);
    for (;;) {
        while (iocph__lane_empty(&files->queue) && !files->stop) {
            files->idle++;
            iocph__cond_wait(&files->ready, &files->lock, IOCPH__INFINITE);
            files->idle--;
        }
        if (iocph__lane_empty(&files->queue))
            break; /* stopping and nothing left */
        iocph__op *op = files->queue.head;
        iocph__lane_remove(&files->queue, op);
        atomic_store(&op->backend_state, IOCPH__EPOLL_OP_POOL_RUNNING);
        iocph__mutex_unlock(&files->lock);
        run(op);
        atomic_store(&op->backend_state, IOCPH__EPOLL_OP_POOL_DONE);
        iocph__epoll_push(iocph__epoll_worker_of(op->handle), op);
        iocph__mutex_lock(&files->lock);
    }
    iocph__mutex_unlock(&files->lock);
}

int32_t iocph__epoll_files_start(iocph__epoll_files *files)
{
    files->max_threads = DEFAULT_FILE_THREADS;
    const char *env = iocph__getenv("IOCPH_EPOLL_FILE_THREADS");
    if (env && *env) {
        long v = strtol(env, NULL, 10);
        if (v >= 1 && v <= (long)MAX_FILE_THREADS)
            files->max_threads = (uint32_t)v;
    }
    files->thread_handles = calloc(files->max_threads, sizeof *files->thread_handles);
    if (!files->thread_handles)
        return IOCPH_E_NOMEM;
    iocph__mutex_init(&files->lock);
    iocph__cond_init(&files->ready);
    return IOCPH_OK;
}

void iocph__epoll_files_stop(iocph__epoll_files *files)
{
    if (!files->thread_handles)
        return;
    iocph__mutex_lock(&files->lock);
    files->stop = true;
    uint32_t threads = files->threads;
    iocph__mutex_unlock(&files->lock);
    iocph__cond_broadcast(&files->ready);
    for (uint32_t i = 0; i < threads; i++)
        iocph__thread_join(files->thread_handles[i]);
    iocph__cond_destroy(&files->ready);
    iocph__mutex_destroy(&files->lock);
    free(files->thread_handles);
    files->thread_handles = NULL;
}

int32_t iocph__epoll_files_submit(iocph__port *port, iocph__op *op)
{
    iocph__epoll_files *files = &iocph__epoll_port_of(port)->files;
    iocph__mutex_lock(&files->lock);
    if (files->stop) {
        iocph__mutex_unlock(&files->lock);
        return IOCPH_E_SHUTDOWN;
    }
    if (files->idle == 0 && files->threads < files->max_threads &&
        iocph__thread_start(&files->thread_handles[files->threads], pool_main, files) == IOCPH_OK)
        files->threads++;
    if (files->threads == 0) {
        iocph__mutex_unlock(&files->lock);
        return IOCPH_E_NOMEM; /* not even one thread could start: refuse, no completion */
    }
    atomic_store(&op->backend_state, IOCPH__EPOLL_OP_POOL_QUEUED);
    iocph__lane_push(&files->queue, op);
    bool wake = files->idle > 0;
    iocph__mutex_unlock(&files->lock);
    if (wake)
        iocph__cond_signal(&files->ready);
    return IOCPH_OK;
}

bool iocph__epoll_files_cancel(iocph__epoll_files *files, iocph__op *op)
{
    iocph__mutex_lock(&files->lock);
    bool taken = atomic_load(&op->backend_state) == IOCPH__EPOLL_OP_POOL_QUEUED &&
                 iocph__lane_remove(&files->queue, op);
    iocph__mutex_unlock(&files->lock);
    return taken;
}

void iocph__epoll_files_cancel_handle(iocph__epoll_files *files, iocph__handle *handle,
                                      iocph__op **out)
{
    iocph__mutex_lock(&files->lock);
    iocph__op *o = files->queue.head;
    while (o) {
        iocph__op *next = o->next;
        if (o->handle == handle) {
            iocph__lane_remove(&files->queue, o);
            o->next = *out;
            *out = o;
        }
        o = next;
    }
    iocph__mutex_unlock(&files->lock);
}
