/* Immediate attempts on Windows (see "Immediate attempts" in iocphybrid.h).
 * Receive: FIONREAD says how many bytes have arrived; a recv of at most that many can't wait.
 * (FIONREAD is 0 also when the peer has closed: that is left to the asynchronous receive.)
 * Send and file reads: always IOCPH_E_WOULD_BLOCK. An overlapped socket has no "send only what
 * fits" call, and Windows has no nonblocking read of cached file data; the asynchronous path
 * (with skip-on-success where it applies) is the fast path there. */
#include "iocp_internal.h"

int32_t iocph__win_try_io(iocph__handle *handle, int op_kind, void *buffer, uint32_t length,
                          uint64_t offset, uint32_t *done)
{
    (void)offset;
    if (op_kind != IOCPH__OP_RECEIVE)
        return IOCPH_E_WOULD_BLOCK;
    SOCKET s = (SOCKET)handle->os;
    u_long available = 0;
    if (ioctlsocket(s, FIONREAD, &available) != 0)
        return iocph__map_win32((unsigned long)WSAGetLastError());
    if (available == 0)
        return IOCPH_E_WOULD_BLOCK;
    int n = recv(s, (char *)buffer, (int)(available < length ? available : length), 0);
    if (n == SOCKET_ERROR)
        return iocph__map_win32((unsigned long)WSAGetLastError());
    *done = (uint32_t)n;
    return IOCPH_OK;
}
