/* Immediate attempts (iocph_socket_try_send, iocph_socket_try_receive, iocph_file_try_read):
 * the arguments are checked here as for the asynchronous operations, then the backend makes one
 * nonblocking attempt on the calling thread. No op, no completion: only a reference on the
 * handle for the length of the call, so that a concurrent close can't pull the fd away. */
#include "api_shared.h"

#define TCP_KINDS (1u << IOCPH__KIND_TCP)
#define FILE_KINDS (1u << IOCPH__KIND_FILE)

static int32_t try_io(iocph_handle_t value, uint32_t kind_mask, int op_kind, void *buffer,
                      uint32_t length, uint64_t offset, uint32_t *done)
{
    if (done)
        *done = 0;
    if (!done || !buffer || length == 0 || length > IOCPH_MAX_IO_LENGTH ||
        offset > (uint64_t)INT64_MAX)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__handle *h = iocph__table_acquire(value, kind_mask);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = IOCPH_OK;
    if (atomic_load_explicit(&h->port->state, memory_order_acquire) != IOCPH__PORT_RUNNING)
        rc = IOCPH_E_SHUTDOWN;
    else if (op_kind == IOCPH__OP_READ && !(h->flags & IOCPH_FILE_READ))
        rc = IOCPH_E_ACCESS_DENIED;
    else if (op_kind == IOCPH__OP_READ && (h->flags & IOCPH_FILE_UNBUFFERED))
        rc = iocph__unbuffered_aligned(buffer, length, offset)
                 ? IOCPH_E_WOULD_BLOCK /* nothing of an unbuffered file is cached */
                 : IOCPH_E_ALIGNMENT;
    else
        rc = h->port->backend->try_io(h, op_kind, buffer, length, offset, done);
    iocph__table_release(value);
    return rc;
}

int32_t iocph_socket_try_send(iocph_handle_t socket, const void *buffer, uint32_t length,
                              uint32_t *sent)
{
    return try_io(socket, TCP_KINDS, IOCPH__OP_SEND, (void *)(uintptr_t)buffer, length, 0, sent);
}

int32_t iocph_socket_try_receive(iocph_handle_t socket, void *buffer, uint32_t length,
                                 uint32_t *received)
{
    return try_io(socket, TCP_KINDS, IOCPH__OP_RECEIVE, buffer, length, 0, received);
}

int32_t iocph_file_try_read(iocph_handle_t file, void *buffer, uint32_t length, uint64_t offset,
                            uint32_t *transferred)
{
    return try_io(file, FILE_KINDS, IOCPH__OP_READ, buffer, length, offset, transferred);
}
