/*
 * uring_handles.c - opening files and pipes, binding handles to rings, closing fds.
 */
#include "linux_os.h"
#include "uring_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int32_t iocph__uring_file_open(iocph__port *port, const char *path_utf8, uint32_t flags,
                               intptr_t *os)
{
    (void)port;
    return iocph__linux_file_open(path_utf8, flags, os);
}

int32_t iocph__uring_pipe_create(iocph__port *port, intptr_t *read_os, intptr_t *write_os)
{
    (void)port;
    return iocph__linux_pipe_create(false, read_os, write_os);
}

int32_t iocph__uring_handle_attach(iocph__port *port, iocph__handle *handle)
{
    iocph__uring_port *up = iocph__uring_port_of(port);
    iocph__uring_handle *hd = calloc(1, sizeof *hd);
    if (!hd) {
        return IOCPH_E_NOMEM;
    }
    atomic_init(&hd->cancel_all_queued, 0);
    handle->backend_data = hd;
    /* Round robin, like RSS: all of a handle's operations stay on one ring, in order. */
    handle->ring = atomic_fetch_add_explicit(&up->next_ring, 1, memory_order_relaxed) %
                   up->ring_count;
    return IOCPH_OK;
}

int32_t iocph__uring_handle_adopt(iocph__port *port, uint32_t kind, intptr_t os, bool duplicate,
                                  iocph__adopt *adopt)
{
    (void)port;
    /* Listeners nonblocking, every other socket and pipe blocking (iocph__uring_socket_create). */
    return iocph__linux_handle_adopt(kind, os, duplicate, kind == IOCPH__KIND_TCP_LISTENER, adopt);
}

void iocph__uring_handle_unadopt(iocph__port *port, uint32_t kind, const iocph__adopt *adopt)
{
    (void)port;
    (void)kind;
    iocph__linux_handle_unadopt(adopt);
}

void iocph__uring_handle_close_os(iocph__handle *handle)
{
    if (handle->os >= 0 && !handle->os_borrowed) {
        close((int)handle->os);
        handle->os = -1;
    }
    free(handle->backend_data);
    handle->backend_data = NULL;
}
