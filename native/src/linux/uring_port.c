/*
 * uring_port.c - a port's rings: starting, stopping, freeing; and the backend's vtable.
 */
#include "linux_os.h"
#include "uring_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void stop_ring(iocph__uring_ring *ring)
{
    if (!ring->thread_started) {
        return;
    }
    atomic_store(&ring->stop, 1);
    /* Unconditional (not through `sleeping`): the thread must notice `stop` even when it is
     * blocked waiting for completions that will never come. */
    iocph__uring_wake(ring);
    iocph__thread_join(ring->thread);
    ring->thread_started = false;
    iocph__uring_drain_exited(ring);
}

static void free_rings(iocph__uring_port *up)
{
    for (uint32_t i = 0; i < up->ring_count; i++) {
        iocph__uring_ring *ring = &up->rings[i];
        if (ring->direct.ready) {
            io_uring_queue_exit(&ring->direct.uring); /* its thread exited (and closed it) */
        }
        if (ring->wake_fd >= 0) {
            close(ring->wake_fd);
        }
        free(ring->batch);
        free(ring->cancels);
        free(ring->stash);
        iocph__sem_destroy(&ring->ready);
        iocph__mutex_destroy(&ring->exit_lock);
        iocph__mutex_destroy(&ring->direct.lock);
    }
    free(up->rings);
    free(up);
}

static int32_t start_ring(iocph__uring_ring *ring)
{
    ring->wake_fd = eventfd(0, EFD_CLOEXEC); /* blocking: io_uring polls it for us */
    if (ring->wake_fd < 0) {
        return iocph__map_errno(errno);
    }
    ring->batch = calloc(ring->port->max_batch, sizeof *ring->batch);
    if (!ring->batch) {
        return IOCPH_E_NOMEM;
    }
    int32_t rc = iocph__thread_start(&ring->thread, iocph__uring_thread_main, ring);
    if (rc < 0) {
        return rc;
    }
    /* The ring is created on its own thread (SINGLE_ISSUER binds it to its creator); wait for
     * the verdict, so that port creation fails cleanly where io_uring is blocked. */
    iocph__sem_wait(&ring->ready);
    if (ring->setup_status < 0) {
        iocph__thread_join(ring->thread);
        return ring->setup_status;
    }
    ring->thread_started = true;
    return IOCPH_OK;
}

static int32_t uring_port_start(iocph__port *port)
{
    iocph__uring_port *up = calloc(1, sizeof *up);
    if (!up) {
        return IOCPH_E_NOMEM;
    }
    const char *compat = iocph__getenv("IOCPH_IO_URING_COMPAT");
    up->compat = compat && strcmp(compat, "1") == 0;
    const char *ebusy = iocph__getenv("IOCPH_TEST_URING_EBUSY"); /* tests only: uring_loop.c */
    up->test_ebusy = ebusy && strcmp(ebusy, "1") == 0;
    up->ring_count = port->worker_threads ? port->worker_threads : 1;
    up->rings = calloc(up->ring_count, sizeof *up->rings);
    if (!up->rings) {
        free(up);
        return IOCPH_E_NOMEM;
    }
    for (uint32_t i = 0; i < up->ring_count; i++) {
        iocph__uring_ring *ring = &up->rings[i];
        ring->port = port;
        ring->owner = up;
        ring->index = i;
        ring->wake_fd = -1;
        iocph__sem_init(&ring->ready, 0);
        iocph__mutex_init(&ring->exit_lock);
        iocph__mutex_init(&ring->direct.lock);
    }
    port->backend_data = up;
    for (uint32_t i = 0; i < up->ring_count; i++) {
        int32_t rc = start_ring(&up->rings[i]);
        if (rc < 0) {
            for (uint32_t j = 0; j < i; j++) {
                stop_ring(&up->rings[j]);
            }
            free_rings(up);
            port->backend_data = NULL;
            return rc;
        }
    }
    return IOCPH_OK;
}

static void uring_port_stop(iocph__port *port)
{
    iocph__uring_port *up = iocph__uring_port_of(port);
    for (uint32_t i = 0; i < up->ring_count; i++) {
        stop_ring(&up->rings[i]);
    }
    if (!port->callback) {
        iocph__pull_wake_all(port);
    }
}

static void uring_port_free(iocph__port *port)
{
    iocph__uring_port *up = iocph__uring_port_of(port);
    if (!up) {
        return;
    }
    for (uint32_t i = 0; i < up->ring_count; i++) {
        stop_ring(&up->rings[i]); /* no-op unless port_stop was skipped */
    }
    free_rings(up);
    port->backend_data = NULL;
}

const iocph__backend iocph__backend_io_uring = {
    .id = IOCPH_BACKEND_IO_URING,
    .name = "io_uring",
    .probe = iocph__uring_probe,
    .port_start = uring_port_start,
    .port_post = iocph__uring_port_post,
    .port_dequeue = iocph__pull_dequeue,
    .port_stop = uring_port_stop,
    .port_free = uring_port_free,
    .file_open = iocph__uring_file_open,
    .file_length = iocph__linux_file_length,
    .pipe_create = iocph__uring_pipe_create,
    .handle_attach = iocph__uring_handle_attach,
    .handle_close_os = iocph__uring_handle_close_os,
    .handle_adopt = iocph__uring_handle_adopt,
    .handle_unadopt = iocph__uring_handle_unadopt,
    .op_submit = iocph__uring_op_submit,
    .op_cancel = iocph__uring_op_cancel,
    .handle_cancel_all = iocph__uring_handle_cancel_all,
    .worker_release = iocph__uring_worker_release,
    .try_io = iocph__uring_try_io,
    .try_accept = iocph__uring_try_accept,
    .op_ext_size = sizeof(iocph__uring_sock_ext),
    .socket_create = iocph__uring_socket_create,
};
