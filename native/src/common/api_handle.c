/* Handle and I/O public functions: files, pipes, close and cancellation. Every argument is
 * checked here, before anything reaches the backend or the OS. */
#include "api_shared.h"

#include <stdlib.h>

#define FILE_KINDS (1u << IOCPH__KIND_FILE)
#define KNOWN_FILE_FLAGS                                                                         \
    (IOCPH_FILE_READ | IOCPH_FILE_WRITE | IOCPH_FILE_CREATE | IOCPH_FILE_EXCLUSIVE |             \
     IOCPH_FILE_TRUNCATE | IOCPH_FILE_APPEND | IOCPH_FILE_UNBUFFERED)

static void handle_finalize(void *object)
{
    iocph__handle *h = object;
    iocph__port *port = h->port;
    iocph__mutex_lock(&port->lock);
    if (h->prev)
        h->prev->next = h->next;
    else if (port->handles == h)
        port->handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    iocph__mutex_unlock(&port->lock);
    if (h->registered)
        iocph__associate_forget(h);
    port->backend->handle_close_os(h);
    atomic_fetch_sub_explicit(&port->handles_open, 1, memory_order_relaxed);
    free(h);
    iocph__port_release(port); /* the handle's reference on its port */
}

void iocph__close_unpublished(iocph__port *port, uint32_t kind, intptr_t os)
{
    iocph__handle tmp = {.port = port, .kind = (uint8_t)kind, .os = os};
    port->backend->handle_close_os(&tmp);
}

int32_t iocph__handle_publish(iocph__port *port, uint32_t kind, intptr_t os, uint32_t flags,
                              uint64_t key, iocph_handle_t *out)
{
    iocph__handle *h = calloc(1, sizeof *h);
    if (!h) {
        iocph__close_unpublished(port, kind, os);
        return IOCPH_E_NOMEM;
    }
    h->kind = (uint8_t)kind;
    h->flags = (uint16_t)flags;
    h->key = key;
    h->os = os;
    return iocph__handle_publish_made(port, h, true, out);
}

int32_t iocph__handle_publish_made(iocph__port *port, iocph__handle *h, bool close_on_failure,
                                   iocph_handle_t *out)
{
    h->port = port;
    int32_t rc = port->backend->handle_attach(port, h);
    if (rc == IOCPH_OK)
        rc = iocph__table_insert(h->kind, h, handle_finalize, &h->value);
    if (rc < 0) {
        h->os_borrowed = !close_on_failure;
        port->backend->handle_close_os(h);
        free(h);
        return rc;
    }
    iocph__table_addref(port->value); /* released by handle_finalize */
    atomic_fetch_add_explicit(&port->handles_open, 1, memory_order_relaxed);
    iocph__mutex_lock(&port->lock);
    h->next = port->handles;
    if (h->next)
        h->next->prev = h;
    port->handles = h;
    iocph__mutex_unlock(&port->lock);
    *out = h->value;
    return IOCPH_OK;
}

iocph__port *iocph__port_running(iocph_port_t value, int32_t *rc)
{
    iocph__port *port = iocph__port_acquire(value);
    if (!port) {
        *rc = IOCPH_E_BADHANDLE;
        return NULL;
    }
    if (atomic_load_explicit(&port->state, memory_order_acquire) != IOCPH__PORT_RUNNING) {
        iocph__port_release(port);
        *rc = IOCPH_E_SHUTDOWN;
        return NULL;
    }
    *rc = IOCPH_OK;
    return port;
}

int32_t iocph_file_open(iocph_port_t port_value, const char *path_utf8, uint32_t flags,
                        uint64_t key, iocph_handle_t *file)
{
    if (file)
        *file = 0;
    if (!path_utf8 || !*path_utf8 || !file || (flags & ~(uint32_t)KNOWN_FILE_FLAGS) ||
        !(flags & (IOCPH_FILE_READ | IOCPH_FILE_WRITE)))
        return IOCPH_E_INVALID_ARGUMENT;
    if ((flags & (IOCPH_FILE_CREATE | IOCPH_FILE_TRUNCATE | IOCPH_FILE_APPEND)) &&
        !(flags & IOCPH_FILE_WRITE))
        return IOCPH_E_INVALID_ARGUMENT;
    if ((flags & IOCPH_FILE_EXCLUSIVE) && !(flags & IOCPH_FILE_CREATE))
        return IOCPH_E_INVALID_ARGUMENT;
    int32_t rc;
    iocph__port *port = iocph__port_running(port_value, &rc);
    if (!port)
        return rc;
    intptr_t os;
    rc = port->backend->file_open(port, path_utf8, flags, &os);
    if (rc == IOCPH_OK)
        rc = iocph__handle_publish(port, IOCPH__KIND_FILE, os, flags, key, file);
    iocph__port_release(port);
    return rc;
}

int32_t iocph_pipe_create(iocph_port_t port_value, uint64_t key, iocph_handle_t *read_end,
                          iocph_handle_t *write_end)
{
    if (read_end)
        *read_end = 0;
    if (write_end)
        *write_end = 0;
    if (!read_end || !write_end)
        return IOCPH_E_INVALID_ARGUMENT;
    int32_t rc;
    iocph__port *port = iocph__port_running(port_value, &rc);
    if (!port)
        return rc;
    intptr_t r, w;
    rc = port->backend->pipe_create(port, &r, &w);
    if (rc == IOCPH_OK) {
        rc = iocph__handle_publish(port, IOCPH__KIND_PIPE_READ, r, IOCPH_FILE_READ, key, read_end);
        if (rc < 0) {
            iocph__close_unpublished(port, IOCPH__KIND_PIPE_WRITE, w);
        } else {
            rc = iocph__handle_publish(port, IOCPH__KIND_PIPE_WRITE, w, IOCPH_FILE_WRITE, key, write_end);
            if (rc < 0) {
                iocph_handle_close(*read_end);
                *read_end = 0;
            }
        }
    }
    iocph__port_release(port);
    return rc;
}

int32_t iocph_handle_close(iocph_handle_t value)
{
    iocph__handle *h = iocph__table_acquire(value, IOCPH__ANY_HANDLE_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    if (!iocph__table_close(value)) {
        iocph__table_release(value);
        return IOCPH_E_BADHANDLE; /* another thread closed it first */
    }
    /* New operations can no longer acquire the handle; one that acquired it just before may
     * still be on its way to the OS: it sees `closing` after submitting and cancels itself. */
    atomic_store_explicit(&h->closing, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&h->port->state, memory_order_acquire) != IOCPH__PORT_SHUT_DOWN)
        h->port->backend->handle_cancel_all(h);
    iocph__table_release(value); /* the last release closes the OS handle */
    return IOCPH_OK;
}

int32_t iocph_handle_cancel_all(iocph_handle_t value)
{
    iocph__handle *h = iocph__table_acquire(value, IOCPH__ANY_HANDLE_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = IOCPH_OK;
    if (atomic_load_explicit(&h->port->state, memory_order_acquire) != IOCPH__PORT_SHUT_DOWN)
        rc = h->port->backend->handle_cancel_all(h);
    iocph__table_release(value);
    return rc;
}

int32_t iocph_op_cancel(iocph_handle_t value, iocph_op_t op_value)
{
    iocph__handle *h = iocph__table_acquire(value, IOCPH__ANY_HANDLE_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = IOCPH_E_NOTPENDING;
    iocph__op *op = iocph__op_lock_live(h->port, op_value);
    if (op) {
        /* The lock proves the op live and h's; the backend re-checks the generation itself, so
         * its work (an allocation and a queue on io_uring, CancelIoEx) is not done under it. */
        bool ours = op->handle == h;
        iocph__spin_unlock(&op->lock);
        if (ours)
            rc = h->port->backend->op_cancel(h, op, (uint32_t)(op_value >> 32));
    }
    iocph__table_release(value);
    return rc;
}

int32_t iocph__io_begin(iocph_handle_t value, uint32_t kind_mask, iocph__op **op_out)
{
    return iocph__io_begin_with(value, kind_mask, false, op_out);
}

int32_t iocph__io_begin_with(iocph_handle_t value, uint32_t kind_mask, bool sock_block,
                             iocph__op **op_out)
{
    iocph__handle *h = iocph__table_acquire(value, kind_mask);
    if (!h)
        return IOCPH_E_BADHANDLE; /* the op's reference on the handle if all goes well */
    iocph__port *port = h->port;
    int32_t rc = iocph__port_enter(port);
    if (rc < 0) {
        iocph__table_release(value);
        return rc;
    }
    iocph__op *op = iocph__op_alloc_with(port, sock_block);
    if (!op) {
        iocph__port_leave(port);
        iocph__table_release(value);
        return IOCPH_E_NOMEM;
    }
    op->handle = h;
    op->key = h->key;
    *op_out = op;
    return IOCPH_OK;
}

void iocph__io_abort(iocph__op *op)
{
    iocph__port *port = op->port;
    iocph_handle_t value = op->handle->value;
    iocph__op_free(op);
    iocph__port_leave(port);
    iocph__table_release(value);
}

int32_t iocph__io_submit(iocph__op *op, iocph_op_t *op_out)
{
    iocph__handle *h = op->handle;
    iocph__port *port = h->port;
    iocph_handle_t value = h->value;
    iocph_op_t op_value = iocph__op_value(op); /* before submit: op may complete and be reused */
    iocph__table_addref(value);                /* ours, across submit: the op may finish first */
    int32_t rc = port->backend->op_submit(op);
    if (rc < 0) {
        iocph__op_free(op);
        iocph__port_leave(port);
        iocph__table_release(value);
        iocph__table_release(value);
        return rc;
    }
    if (op_out)
        *op_out = op_value;
    /* Raced with iocph_handle_close: its cancel-all may have run before this op reached the OS.
     * If the op already completed, op_cancel finds its value stale and does nothing. */
    if (atomic_load_explicit(&h->closing, memory_order_seq_cst)) {
        iocph__op *live = iocph__op_lock_live(port, op_value);
        if (live) {
            iocph__spin_unlock(&live->lock);
            port->backend->op_cancel(h, live, (uint32_t)(op_value >> 32));
        }
    }
    iocph__table_release(value);
    return IOCPH_OK;
}

/* The path every file and pipe operation starts through. */
static int32_t start_io(iocph_handle_t value, uint32_t kind_mask, uint32_t op_kind,
                        uint32_t needed_access, const void *buffer, uint32_t length,
                        uint64_t offset, uint64_t user_data, iocph_op_t *op_out)
{
    if (op_out)
        *op_out = 0;
    if (op_kind != IOCPH__OP_FLUSH &&
        (!buffer || length == 0 || length > IOCPH_MAX_IO_LENGTH || offset > (uint64_t)INT64_MAX))
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__op *op;
    int32_t rc = iocph__io_begin(value, kind_mask, &op);
    if (rc < 0)
        return rc;
    iocph__handle *h = op->handle;
    if (!(h->flags & needed_access))
        rc = IOCPH_E_ACCESS_DENIED;
    else if ((h->flags & IOCPH_FILE_UNBUFFERED) && op_kind != IOCPH__OP_FLUSH &&
             !iocph__unbuffered_aligned(buffer, length, offset))
        rc = IOCPH_E_ALIGNMENT;
    if (rc < 0) {
        iocph__io_abort(op);
        return rc;
    }
    op->user_data = user_data;
    op->buffer = (uint8_t *)(uintptr_t)buffer;
    op->length = length;
    op->offset = offset;
    op->kind = op_kind;
    return iocph__io_submit(op, op_out);
}

int32_t iocph_file_read(iocph_handle_t file, void *buffer, uint32_t length, uint64_t offset,
                        uint64_t user_data, iocph_op_t *op)
{
    return start_io(file, FILE_KINDS, IOCPH__OP_READ, IOCPH_FILE_READ, buffer, length, offset,
                    user_data, op);
}

int32_t iocph_file_write(iocph_handle_t file, const void *buffer, uint32_t length,
                         uint64_t offset, uint64_t user_data, iocph_op_t *op)
{
    return start_io(file, FILE_KINDS, IOCPH__OP_WRITE, IOCPH_FILE_WRITE, buffer, length, offset,
                    user_data, op);
}

int32_t iocph_file_flush(iocph_handle_t file, uint64_t user_data, iocph_op_t *op)
{
    return start_io(file, FILE_KINDS, IOCPH__OP_FLUSH, IOCPH_FILE_WRITE | IOCPH_FILE_READ, NULL,
                    0, 0, user_data, op);
}

int32_t iocph_file_get_length(iocph_handle_t file, uint64_t *length)
{
    if (!length)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__handle *h = iocph__table_acquire(file, FILE_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = h->port->backend->file_length(h, length);
    iocph__table_release(file);
    return rc;
}

int32_t iocph_pipe_read(iocph_handle_t read_end, void *buffer, uint32_t length,
                        uint64_t user_data, iocph_op_t *op)
{
    return start_io(read_end, 1u << IOCPH__KIND_PIPE_READ, IOCPH__OP_PIPE_READ, IOCPH_FILE_READ,
                    buffer, length, 0, user_data, op);
}

int32_t iocph_pipe_write(iocph_handle_t write_end, const void *buffer, uint32_t length,
                         uint64_t user_data, iocph_op_t *op)
{
    return start_io(write_end, 1u << IOCPH__KIND_PIPE_WRITE, IOCPH__OP_PIPE_WRITE,
                    IOCPH_FILE_WRITE, buffer, length, 0, user_data, op);
}
