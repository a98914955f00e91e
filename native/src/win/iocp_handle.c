/* Handles and the port: association under the backend's own completion key, the skip-on-success
 * mode where it is safe, and closing the OS handle. */
#include "iocp_internal.h"

#include <stdlib.h>

static bool is_pipe(const iocph__handle *handle)
{
    return handle->kind == IOCPH__KIND_PIPE_READ || handle->kind == IOCPH__KIND_PIPE_WRITE;
}

int32_t iocph__win_handle_attach(iocph__port *port, iocph__handle *handle)
{
    iocph__win_handle *wh = calloc(1, sizeof *wh);
    if (!wh)
        return IOCPH_E_NOMEM;
    atomic_init(&wh->cancel_seq, 0u);
    atomic_init(&wh->family, 0);
    HANDLE os = iocph__win_os(handle);
    if (!CreateIoCompletionPort(os, iocph__win_iocp(port), IOCPH__WIN_KEY_IO, 0)) {
        /* For a valid handle, "invalid parameter" means its file object is associated with a
         * port already (only iocph_handle_associate can bring such a handle). */
        DWORD error = GetLastError();
        int32_t rc = error == ERROR_INVALID_PARAMETER ? IOCPH_E_ALREADY_ASSOCIATED
                                                      : iocph__map_win32(error);
        free(wh);
        return rc;
    }
    /* No completion event on the handle itself: nobody waits on it, only on the port. */
    UCHAR modes = FILE_SKIP_SET_EVENT_ON_HANDLE;
    /* Pipes skip the packet of an I/O that succeeds at once (data already there, room in the
     * buffer): a pipe write then sends its next chunk without a round trip through the port.
     * TCP sockets do too, a receive with data waiting or a send with room, unless a layered
     * provider without IFS handles sits under them (the mode is unsafe then, as libuv and .NET
     * know). UDP sockets do not: a datagram too long for the buffer ends with a warning status
     * (STATUS_BUFFER_OVERFLOW, WSAEMSGSIZE), which Windows does not count as a success to skip
     * while Wine skips it; without the mode both queue its packet (iocp_sock_io.c). Files do
     * not: Wine pends every file read anyway, and on Windows a skipped packet would only be
     * replaced by the backend's own post. */
    bool tcp = handle->kind == IOCPH__KIND_TCP || handle->kind == IOCPH__KIND_TCP_LISTENER;
    if (is_pipe(handle) || (tcp && iocph__win_socket_is_ifs((SOCKET)handle->os)))
        modes |= FILE_SKIP_COMPLETION_PORT_ON_SUCCESS;
    if (SetFileCompletionNotificationModes(os, modes))
        wh->skip_on_success = (modes & FILE_SKIP_COMPLETION_PORT_ON_SUCCESS) != 0;
    /* On failure the handle keeps the default modes: every I/O queues its packet, which the
     * backend handles just as well. */
    handle->backend_data = wh;
    return IOCPH_OK;
}

void iocph__win_handle_close_os(iocph__handle *handle)
{
    /* Also called for handles that were never attached (backend_data NULL). A socket is not a
     * plain kernel handle to close: closesocket also releases Winsock's state for it. */
    if (handle->os_borrowed) {
        /* the caller's (a failed iocph_handle_associate): not ours to close */
    } else if (iocph__win_is_socket_kind(handle->kind)) {
        closesocket((SOCKET)handle->os);
    } else {
        CloseHandle(iocph__win_os(handle));
    }
    free(handle->backend_data);
    handle->backend_data = NULL;
}
