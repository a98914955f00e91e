/* What an operation's Win32 outcome means for its completion, and how an outcome that has no
 * packet of its own still reaches the user exactly once: through the port. */
#include "iocp_internal.h"

static bool is_closed_pipe(DWORD error)
{
    /* 109: the other end is closed; 232: the pipe is being closed; 233: no process on the other
     * end. Windows and Wine do not always agree on which one a closed end produces. */
    return error == ERROR_BROKEN_PIPE || error == ERROR_NO_DATA ||
           error == ERROR_PIPE_NOT_CONNECTED;
}

bool iocph__win_error_is_outcome(const iocph__op *op, DWORD error)
{
    switch (op->kind) {
    case IOCPH__OP_READ: return error == ERROR_HANDLE_EOF;
    case IOCPH__OP_PIPE_READ: return error == ERROR_HANDLE_EOF || is_closed_pipe(error);
    case IOCPH__OP_PIPE_WRITE: return is_closed_pipe(error);
    default: return false;
    }
}

int64_t iocph__win_result(const iocph__op *op, DWORD error, uint64_t bytes, int32_t *os_error)
{
    *os_error = 0;
    if (error == 0)
        return (int64_t)bytes;
    switch (op->kind) {
    case IOCPH__OP_READ:
        if (error == ERROR_HANDLE_EOF)
            return 0; /* at or past the end of the file */
        break;
    case IOCPH__OP_PIPE_READ:
        if (error == ERROR_HANDLE_EOF || is_closed_pipe(error))
            return 0; /* the writer closed its end */
        break;
    case IOCPH__OP_PIPE_WRITE:
        /* Cancelled after some chunks went through: report what was written (a short count). */
        if (bytes > 0 && (error == ERROR_OPERATION_ABORTED || error == ERROR_HANDLES_CLOSED))
            return (int64_t)bytes;
        if (is_closed_pipe(error)) {
            *os_error = (int32_t)error;
            return IOCPH_E_BROKEN_PIPE;
        }
        break;
    default: break;
    }
    *os_error = (int32_t)error;
    /* 995 on Windows; 676 when Wine cancels I/O because the handle was closed. */
    if (error == ERROR_OPERATION_ABORTED || error == ERROR_HANDLES_CLOSED)
        return IOCPH_E_CANCELED;
    return iocph__map_win32(error);
}

int32_t iocph__win_post_outcome(iocph__op *op, int64_t result, int32_t os_error)
{
    /* The OS no longer uses this OVERLAPPED (the I/O finished without a packet, or never went to
     * the OS), so its Internal fields carry the outcome to the dequeuing thread. */
    op->ov.Internal = (ULONG_PTR)result;
    op->ov.InternalHigh = (ULONG_PTR)(uint32_t)os_error;
    HANDLE iocp = iocph__win_iocp(op->port);
    if (!PostQueuedCompletionStatus(iocp, 0, IOCPH__WIN_KEY_OUTCOME, &op->ov))
        return iocph__map_win32(GetLastError());
    return IOCPH_OK;
}
