/* From dequeued packets to completions: the translation shared by the push-mode workers and
 * pull mode's iocph_port_dequeue (GetQueuedCompletionStatusEx on the caller's thread). */
#include "iocp_internal.h"

/* Pull mode reads at most this many packets per call: the entries live on the caller's stack. */
#define PULL_BATCH 128u

uint32_t iocph__win_packet(iocph__port *port, const OVERLAPPED_ENTRY *packet,
                           iocph_completion *entry)
{
    (void)port;
    iocph__op *op = IOCPH__CONTAINER_OF(packet->lpOverlapped, iocph__op, ov);
    if (packet->lpCompletionKey == IOCPH__WIN_KEY_OUTCOME) {
        int64_t result = (int64_t)op->ov.Internal;
        int32_t os_error = (int32_t)op->ov.InternalHigh;
        iocph__op_finish(op, result, os_error, entry);
        return 1;
    }

    /* Wine can queue a socket's packet (for instance when the socket is being closed) before it
     * stores the final status in the OVERLAPPED, which then still reads STATUS_PENDING and
     * WSAGetOverlappedResult answers ERROR_IO_INCOMPLETE (996). The packet carries the same
     * status and byte count (OVERLAPPED_ENTRY.Internal), so take them from there. On Windows
     * the OVERLAPPED is written before the packet is queued and this never triggers. */
    if (op->ov.Internal == (ULONG_PTR)0x103 /* STATUS_PENDING */) {
        op->ov.Internal = packet->Internal;
        op->ov.InternalHigh = packet->dwNumberOfBytesTransferred;
    }

    if (iocph__win_is_socket_op(op->kind)) {
        /* WSAGetOverlappedResult gives Winsock's codes (WSAECONNRESET, WSAEMSGSIZE) where
         * GetOverlappedResult would give the Win32 translation of the NTSTATUS. Internal 0 and a
         * synchronous outcome re-posted by the backend: the error is in op->backend_error. */
        DWORD error = (DWORD)op->backend_error;
        if (op->ov.Internal != 0) {
            DWORD ignored, flags;
            error = WSAGetOverlappedResult((SOCKET)op->handle->os, &op->ov, &ignored, FALSE, &flags)
                        ? 0
                        : (DWORD)WSAGetLastError();
        }
        return iocph__win_sock_packet(op, error, packet->dwNumberOfBytesTransferred, entry);
    }

    /* KEY_IO: the OS is done with the OVERLAPPED. GetQueuedCompletionStatusEx does not turn the
     * NTSTATUS in ov.Internal into a Win32 error; GetOverlappedResult (no wait, no system call)
     * does, and the handle is still open: the op holds a reference on it. */
    DWORD error = 0;
    if (op->ov.Internal != 0) {
        DWORD ignored;
        if (!GetOverlappedResult(iocph__win_os(op->handle), &op->ov, &ignored, FALSE))
            error = GetLastError();
    }
    DWORD bytes = packet->dwNumberOfBytesTransferred;
    uint64_t total = bytes;
    if (op->kind == IOCPH__OP_PIPE_WRITE) {
        op->value += bytes;
        total = (uint64_t)op->value;
        /* A pipe write completes only once every byte is written: send the rest. */
        if (error == 0 && bytes > 0 && total < op->length)
            return iocph__win_pipe_write_continue(op, entry);
    }
    int32_t os_error;
    int64_t result = iocph__win_result(op, error, total, &os_error);
    iocph__op_finish(op, result, os_error, entry);
    return 1;
}

int32_t iocph__win_port_dequeue(iocph__port *port, iocph_completion *entries, uint32_t max,
                                uint32_t timeout_ms, uint32_t *count)
{
    HANDLE iocp = iocph__win_iocp(port);
    OVERLAPPED_ENTRY raw[PULL_BATCH];
    uint64_t deadline = iocph__now_ms() + (timeout_ms == IOCPH__INFINITE ? 0 : timeout_ms);
    *count = 0;
    for (;;) {
        ULONG want = max < PULL_BATCH ? max : PULL_BATCH, got = 0;
        DWORD wait = iocph__remaining_ms(deadline, timeout_ms);
        BOOL ok = GetQueuedCompletionStatusEx(iocp, raw, want, &got, wait, FALSE);
        atomic_fetch_add_explicit(&port->os_waits, 1, memory_order_relaxed);
        if (!ok) {
            DWORD error = GetLastError();
            return error == WAIT_TIMEOUT ? IOCPH_E_TIMEOUT : iocph__map_win32(error);
        }
        uint32_t n = 0;
        bool shutdown = false;
        for (ULONG i = 0; i < got; i++) {
            if (raw[i].lpCompletionKey == IOCPH__WIN_KEY_SHUTDOWN)
                shutdown = true;
            else
                n += iocph__win_packet(port, &raw[i], &entries[n]);
        }
        if (shutdown) {
            /* Sticky: put it back so the next waiter wakes too. It was posted after the port
             * drained, so whatever real packet is still queued comes out before it again. */
            iocph__win_post_control(iocp, IOCPH__WIN_KEY_SHUTDOWN);
        }
        if (n) {
            *count = n;
            iocph__note_dequeued(port, n);
            return IOCPH_OK;
        }
        if (shutdown)
            return IOCPH_E_SHUTDOWN;
        /* Only continued pipe writes or socket sends came out: wait again for what is left of
         * the timeout. */
    }
}
