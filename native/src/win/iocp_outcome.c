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

/* The test hook: IOCPH_TEST_FAIL_POSTS=n, read when a port is created, makes that port's first
 * n posts of op packets fail with ERROR_NO_SYSTEM_RESOURCES. A failed post only happens when
 * the system is short of memory, which a test can't arrange; this is the only way to run what
 * follows one. Unset (every real use) it costs one relaxed load per post. */
static bool test_post_fails(iocph__win_port *w)
{
    uint32_t left = atomic_load_explicit(&w->test_failing_posts, memory_order_relaxed);
    while (left > 0) {
        if (atomic_compare_exchange_weak(&w->test_failing_posts, &left, left - 1))
            return true;
    }
    return false;
}

static BOOL post_packet(iocph__op *op, DWORD bytes, ULONG_PTR key)
{
    iocph__win_port *w = op->port->backend_data;
    if (test_post_fails(w)) {
        SetLastError(ERROR_NO_SYSTEM_RESOURCES);
        return FALSE;
    }
    return PostQueuedCompletionStatus(w->iocp, bytes, key, &op->ov);
}

int32_t iocph__win_post_outcome(iocph__op *op, int64_t result, int32_t os_error)
{
    /* The OS no longer uses this OVERLAPPED (the I/O finished without a packet, or never went to
     * the OS), so its Internal fields carry the outcome to the dequeuing thread. */
    op->ov.Internal = (ULONG_PTR)result;
    op->ov.InternalHigh = (ULONG_PTR)(uint32_t)os_error;
    if (!post_packet(op, 0, IOCPH__WIN_KEY_OUTCOME))
        return iocph__map_win32(GetLastError()); /* nothing happened yet: a refusal is true */
    return IOCPH_OK;
}

int32_t iocph__win_post_done(iocph__op *op, DWORD bytes, ULONG_PTR key)
{
    /* Reporting an error now would tell the caller nothing happened while bytes moved, and no
     * completion would ever come. A completion port's queue has no limit: a post fails only
     * when the system is short of memory (or its handle is invalid, which it can't be while an
     * op holds the port), so waiting and trying again is the one way left to keep the rule. */
    while (!post_packet(op, bytes, key)) {
        DWORD error = GetLastError();
        if (error != ERROR_NOT_ENOUGH_MEMORY && error != ERROR_NO_SYSTEM_RESOURCES &&
            error != ERROR_OUTOFMEMORY && error != ERROR_NOT_ENOUGH_QUOTA)
            return iocph__map_win32(error);
        Sleep(1);
    }
    return IOCPH_OK;
}

int32_t iocph__win_deliver_outcome(iocph__op *op, int64_t result, int32_t os_error)
{
    op->ov.Internal = (ULONG_PTR)result; /* as in iocph__win_post_outcome */
    op->ov.InternalHigh = (ULONG_PTR)(uint32_t)os_error;
    return iocph__win_post_done(op, 0, IOCPH__WIN_KEY_OUTCOME);
}
