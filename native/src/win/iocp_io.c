/* Starting and cancelling operations: overlapped ReadFile / WriteFile with the offset in the
 * OVERLAPPED, synchronous completion and immediate errors, FlushFileBuffers, CancelIoEx.
 *
 * The exactly-once rule on IOCP: after ReadFile/WriteFile returns
 *   FALSE + ERROR_IO_PENDING            a packet will arrive: nothing to do now;
 *   TRUE                                a packet arrives too, unless the handle skips completion
 *                                       packets on success: then the backend posts the outcome;
 *   FALSE + EOF / closed pipe           no packet, yet it is the op's outcome: the backend
 *                                       posts it;
 *   FALSE + anything else               no packet: the error is returned, nothing is delivered.
 *
 * op->backend_data, while the op is in flight and under op->lock: bit 0 = iocph_op_cancel asked
 * for it; the bits above = the handle's cancel_seq when the op started. A pipe write that has
 * to send another chunk checks both, since a cancel that came between two chunks found no I/O
 * to cancel.
 */
#include "iocp_internal.h"

#include <string.h>

#define CANCEL_REQUESTED ((uintptr_t)1)

typedef enum issue_state {
    ISSUE_PENDING, /* a KEY_IO packet will arrive */
    ISSUE_DONE,    /* finished without a packet: *result / *os_error hold the outcome */
    ISSUE_REFUSED  /* nothing happened: *os_error holds the Win32 error, no completion is due */
} issue_state;

static bool is_write(const iocph__op *op)
{
    return op->kind == IOCPH__OP_WRITE || op->kind == IOCPH__OP_PIPE_WRITE;
}

/* Called with op->lock held (or by the op's only owner). */
bool iocph__win_cancel_requested_locked(const iocph__op *op)
{
    uintptr_t state = (uintptr_t)op->backend_data;
    const iocph__win_handle *wh = op->handle->backend_data;
    return (state & CANCEL_REQUESTED) ||
           (uint32_t)(state >> 1) != atomic_load_explicit(&wh->cancel_seq, memory_order_seq_cst) ||
           atomic_load_explicit(&op->handle->closing, memory_order_seq_cst);
}

/* Issues op's ReadFile / WriteFile (for a pipe write: the bytes not yet written). Once the call
 * has queued a packet, a worker may finish the op (and drop its reference on the handle) before
 * the call returns here: what is needed afterwards is read before it. */
static issue_state issue(iocph__op *op, int64_t *result, int32_t *os_error)
{
    HANDLE os = iocph__win_os(op->handle);
    const bool skip_on_success =
        ((const iocph__win_handle *)op->handle->backend_data)->skip_on_success;
    for (;;) {
        uint64_t done = op->kind == IOCPH__OP_PIPE_WRITE ? (uint64_t)op->value : 0;
        uint64_t offset = op->offset;
        if (op->kind == IOCPH__OP_WRITE && (op->handle->flags & IOCPH_FILE_APPEND))
            offset = UINT64_MAX; /* FILE_WRITE_TO_END_OF_FILE: the file system appends atomically */
        memset(&op->ov, 0, sizeof op->ov); /* no event: completions go to the port only */
        op->ov.Offset = (DWORD)offset;
        op->ov.OffsetHigh = (DWORD)(offset >> 32);
        DWORD length = op->length - (DWORD)done;
        BOOL ok = is_write(op) ? WriteFile(os, op->buffer + done, length, NULL, &op->ov)
                               : ReadFile(os, op->buffer, length, NULL, &op->ov);
        if (ok) {
            if (!skip_on_success)
                return ISSUE_PENDING; /* the packet is queued all the same: op no longer ours */
            /* Skipped packet: the byte count is in the OVERLAPPED. */
            DWORD bytes = (DWORD)op->ov.InternalHigh;
            uint64_t total = bytes;
            if (op->kind == IOCPH__OP_PIPE_WRITE) {
                op->value += bytes;
                total = (uint64_t)op->value;
                if (bytes > 0 && total < op->length)
                    continue;
            }
            *result = iocph__win_result(op, 0, total, os_error);
            return ISSUE_DONE;
        }
        DWORD error = GetLastError();
        if (error == ERROR_IO_PENDING)
            return ISSUE_PENDING;
        /* Once bytes went through, the op can only end with a completion. */
        if (done > 0 || iocph__win_error_is_outcome(op, error)) {
            *result = iocph__win_result(op, error, done, os_error);
            return ISSUE_DONE;
        }
        *os_error = (int32_t)error;
        return ISSUE_REFUSED;
    }
}

static int32_t flush(iocph__op *op)
{
    /* FlushFileBuffers has no overlapped form: run it here, deliver through the port. */
    int64_t result = 0;
    int32_t os_error = 0;
    if (!FlushFileBuffers(iocph__win_os(op->handle))) {
        DWORD error = GetLastError();
        /* It needs write access where fsync does not: a read-only handle has written nothing
         * through itself, so there is nothing for it to flush. */
        if (!(error == ERROR_ACCESS_DENIED && !(op->handle->flags & IOCPH_FILE_WRITE)))
            result = iocph__win_result(op, error, 0, &os_error);
    }
    return iocph__win_deliver_outcome(op, result, os_error); /* the flush ran */
}

int32_t iocph__win_op_submit(iocph__op *op)
{
    const iocph__win_handle *wh = op->handle->backend_data;
    uint32_t seq = atomic_load_explicit(&wh->cancel_seq, memory_order_seq_cst);
    op->backend_data = (void *)((uintptr_t)seq << 1);
    if (op->kind == IOCPH__OP_FLUSH)
        return flush(op);
    if (iocph__win_is_socket_op(op->kind))
        return iocph__win_sock_submit(op);
    int64_t result = 0;
    int32_t os_error = 0;
    switch (issue(op, &result, &os_error)) {
    case ISSUE_PENDING: return IOCPH_OK;
    case ISSUE_DONE: return iocph__win_deliver_outcome(op, result, os_error); /* bytes moved */
    default: return iocph__map_win32((DWORD)os_error);
    }
}

uint32_t iocph__win_pipe_write_continue(iocph__op *op, iocph_completion *entry)
{
    int64_t result = op->value; /* stopped between chunks: a short count */
    int32_t os_error = 0;
    iocph__spin_lock(&op->lock);
    bool canceled = iocph__win_cancel_requested_locked(op);
    iocph__spin_unlock(&op->lock);
    if (!canceled) {
        HANDLE os = iocph__win_os(op->handle);
        uint32_t generation = atomic_load_explicit(&op->generation, memory_order_relaxed);
        if (issue(op, &result, &os_error) == ISSUE_PENDING) {
            /* A cancel that came while the chunk was being issued found nothing to cancel.
             * The chunk's packet may already have been dequeued elsewhere and the op reused:
             * only a live op of the same generation is touched. */
            iocph__spin_lock(&op->lock);
            if (atomic_load_explicit(&op->generation, memory_order_relaxed) == generation &&
                op->kind == IOCPH__OP_PIPE_WRITE && iocph__win_cancel_requested_locked(op))
                CancelIoEx(os, &op->ov);
            iocph__spin_unlock(&op->lock);
            return 0;
        }
        /* ISSUE_DONE: ISSUE_REFUSED cannot happen once bytes went through. */
    }
    iocph__op_finish(op, result, os_error, entry);
    return 1;
}

int32_t iocph__win_op_cancel(iocph__handle *handle, iocph__op *op, uint32_t generation)
{
    /* Under op->lock: the flag and CancelIoEx (which names the I/O by its OVERLAPPED) must reach
     * this incarnation of the op and no later one. CancelIoEx does not wait for anything. */
    iocph__spin_lock(&op->lock);
    if (atomic_load_explicit(&op->generation, memory_order_relaxed) != generation ||
        op->kind == IOCPH__OP_FREE) {
        iocph__spin_unlock(&op->lock);
        return IOCPH_E_NOTPENDING; /* finished since the caller looked */
    }
    op->backend_data = (void *)((uintptr_t)op->backend_data | CANCEL_REQUESTED);
    BOOL ok = CancelIoEx(iocph__win_os(handle), &op->ov);
    DWORD error = ok ? 0 : GetLastError();
    iocph__spin_unlock(&op->lock);
    /* Not found: the I/O already finished and its completion is on its way (or a pipe write is
     * between two chunks and will stop there). */
    return ok || error == ERROR_NOT_FOUND ? IOCPH_OK : iocph__map_win32(error);
}

int32_t iocph__win_handle_cancel_all(iocph__handle *handle)
{
    iocph__win_handle *wh = handle->backend_data;
    atomic_fetch_add_explicit(&wh->cancel_seq, 1, memory_order_seq_cst);
    if (CancelIoEx(iocph__win_os(handle), NULL))
        return IOCPH_OK;
    DWORD error = GetLastError();
    return error == ERROR_NOT_FOUND ? IOCPH_OK : iocph__map_win32(error);
}
