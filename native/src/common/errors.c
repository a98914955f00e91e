/* Status messages and the mapping of raw OS codes (errno, Win32) to portable IOCPH_E_* codes.
 * The managed layer decides on the portable code only; the raw code travels for messages. */
#include "internal.h"

#include <stdlib.h>

const char *iocph_status_message(int32_t status)
{
    switch (status) {
    case IOCPH_OK: return "success";
    case IOCPH_E_UNKNOWN: return "operating system error";
    case IOCPH_E_INVALID_ARGUMENT: return "invalid argument";
    case IOCPH_E_BADHANDLE: return "invalid, closed or stale handle";
    case IOCPH_E_NOMEM: return "out of memory or operation slots";
    case IOCPH_E_TIMEOUT: return "timed out";
    case IOCPH_E_CANCELED: return "operation cancelled";
    case IOCPH_E_SHUTDOWN: return "the port is shut down";
    case IOCPH_E_FILE_NOT_FOUND: return "file not found";
    case IOCPH_E_PATH_NOT_FOUND: return "directory not found";
    case IOCPH_E_ACCESS_DENIED: return "access denied";
    case IOCPH_E_FILE_EXISTS: return "file already exists";
    case IOCPH_E_ALIGNMENT: return "unbuffered I/O needs aligned buffer, length and offset";
    case IOCPH_E_UNSUPPORTED: return "not supported by this backend or system";
    case IOCPH_E_WRONG_MODE: return "dequeue needs a port without a callback (pull mode)";
    case IOCPH_E_BROKEN_PIPE: return "the other end of the pipe is closed";
    case IOCPH_E_DISK_FULL: return "no space left on the device";
    case IOCPH_E_IO: return "I/O error";
    case IOCPH_E_TOO_MANY_HANDLES: return "too many open handles";
    case IOCPH_E_NOTPENDING: return "the operation is not in flight";
    case IOCPH_E_WRONGTHREAD: return "not allowed from the port's own completion callback";
    case IOCPH_E_IS_DIRECTORY: return "the path is a directory";
    case IOCPH_E_CONNECTION_REFUSED: return "connection refused: nothing listens there";
    case IOCPH_E_CONNECTION_RESET: return "connection reset by the peer";
    case IOCPH_E_CONNECTION_ABORTED: return "connection aborted by the local system";
    case IOCPH_E_ADDRESS_IN_USE: return "address already in use";
    case IOCPH_E_ADDRESS_NOT_AVAILABLE: return "address not available on this machine";
    case IOCPH_E_HOST_UNREACHABLE: return "host unreachable";
    case IOCPH_E_NETWORK_UNREACHABLE: return "network unreachable";
    case IOCPH_E_MESSAGE_TOO_LARGE: return "message too large";
    case IOCPH_E_NOT_CONNECTED: return "the socket is not connected";
    case IOCPH_E_WOULD_BLOCK: return "the operation would have to wait";
    case IOCPH_E_WRONG_KIND: return "the OS handle is not of the kind named";
    case IOCPH_E_ALREADY_ASSOCIATED: return "the OS handle is already associated with a completion port";
    case IOCPH_E_NOT_OVERLAPPED: return "the handle was opened for synchronous I/O (no FILE_FLAG_OVERLAPPED)";
    default: return "unknown status";
    }
}

const char *iocph__getenv(const char *name) { return getenv(name); }

#ifdef _WIN32

#ifndef ERROR_HANDLES_CLOSED
#define ERROR_HANDLES_CLOSED 676L /* not in every mingw-w64 winerror.h */
#endif
#ifndef ERROR_CONNECTION_REFUSED
#define ERROR_CONNECTION_REFUSED 1225L
#endif
#ifndef ERROR_CONNECTION_ABORTED
#define ERROR_CONNECTION_ABORTED 1236L
#endif
#ifndef ERROR_NETNAME_DELETED
#define ERROR_NETNAME_DELETED 64L
#endif
#ifndef ERROR_PORT_UNREACHABLE
#define ERROR_PORT_UNREACHABLE 1234L
#endif
#ifndef ERROR_HOST_UNREACHABLE
#define ERROR_HOST_UNREACHABLE 1232L
#endif
#ifndef ERROR_NETWORK_UNREACHABLE
#define ERROR_NETWORK_UNREACHABLE 1231L
#endif
#ifndef ERROR_ADDRESS_ALREADY_ASSOCIATED
#define ERROR_ADDRESS_ALREADY_ASSOCIATED 1227L
#endif

int32_t iocph__map_win32(unsigned long error)
{
    switch (error) {
    case ERROR_SUCCESS: return IOCPH_OK;
    case ERROR_FILE_NOT_FOUND: return IOCPH_E_FILE_NOT_FOUND;
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_DRIVE:
    case ERROR_BAD_NETPATH: return IOCPH_E_PATH_NOT_FOUND;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_WRITE_PROTECT: return IOCPH_E_ACCESS_DENIED;
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS: return IOCPH_E_FILE_EXISTS;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES: return IOCPH_E_NOMEM;
    case ERROR_TOO_MANY_OPEN_FILES: return IOCPH_E_TOO_MANY_HANDLES;
    case ERROR_INVALID_HANDLE: return IOCPH_E_BADHANDLE;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
    case ERROR_NEGATIVE_SEEK: return IOCPH_E_INVALID_ARGUMENT;
    case ERROR_OPERATION_ABORTED:
    case ERROR_HANDLES_CLOSED: /* Wine: closesocket/close with a receive pending */
    case ERROR_CANCELLED: return IOCPH_E_CANCELED;
    case ERROR_BROKEN_PIPE:
    case ERROR_NO_DATA:
    case ERROR_PIPE_NOT_CONNECTED: return IOCPH_E_BROKEN_PIPE;
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL: return IOCPH_E_DISK_FULL;
    case ERROR_CRC:
    case ERROR_IO_DEVICE:
    case ERROR_READ_FAULT:
    case ERROR_WRITE_FAULT: return IOCPH_E_IO;
    case ERROR_DIRECTORY: return IOCPH_E_IS_DIRECTORY;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED: return IOCPH_E_UNSUPPORTED;
    case WAIT_TIMEOUT:
    case ERROR_TIMEOUT:
    case ERROR_SEM_TIMEOUT: return IOCPH_E_TIMEOUT;
    case ERROR_NOT_FOUND: return IOCPH_E_NOTPENDING;
    /* Sockets: WSAGetLastError gives WSAE*; an overlapped socket op's NTSTATUS turned into a
     * Win32 code (GetOverlappedResult, RtlNtStatusToDosError) gives the ERROR_* forms. */
    case WSAECONNREFUSED:
    case ERROR_CONNECTION_REFUSED:
    case ERROR_PORT_UNREACHABLE: /* nothing listens on that port (UDP: ICMP port unreachable) */
        return IOCPH_E_CONNECTION_REFUSED;
    case WSAECONNRESET:
    case WSAENETRESET:
    case ERROR_NETNAME_DELETED: /* what an overlapped receive reports for a reset */
        return IOCPH_E_CONNECTION_RESET;
    case WSAECONNABORTED:
    case ERROR_CONNECTION_ABORTED: return IOCPH_E_CONNECTION_ABORTED;
    case WSAEADDRINUSE:
    case ERROR_ADDRESS_ALREADY_ASSOCIATED: return IOCPH_E_ADDRESS_IN_USE;
    case WSAEADDRNOTAVAIL: return IOCPH_E_ADDRESS_NOT_AVAILABLE;
    case WSAEHOSTUNREACH:
    case WSAEHOSTDOWN:
    case ERROR_HOST_UNREACHABLE: return IOCPH_E_HOST_UNREACHABLE;
    case WSAENETUNREACH:
    case WSAENETDOWN:
    case ERROR_NETWORK_UNREACHABLE: return IOCPH_E_NETWORK_UNREACHABLE;
    case WSAEMSGSIZE: return IOCPH_E_MESSAGE_TOO_LARGE;
    case WSAENOTCONN: return IOCPH_E_NOT_CONNECTED;
    case WSAETIMEDOUT: return IOCPH_E_TIMEOUT;
    case WSAESHUTDOWN: return IOCPH_E_BROKEN_PIPE; /* send after shutdown(SD_SEND) */
    case WSAEACCES: return IOCPH_E_ACCESS_DENIED;
    case WSAEINVAL:
    case WSAEFAULT: return IOCPH_E_INVALID_ARGUMENT;
    case WSAEAFNOSUPPORT:
    case WSAEPROTONOSUPPORT:
    case WSAEOPNOTSUPP: return IOCPH_E_UNSUPPORTED;
    case WSAEMFILE: return IOCPH_E_TOO_MANY_HANDLES;
    case WSAENOBUFS: return IOCPH_E_NOMEM;
    case WSAENOTSOCK: return IOCPH_E_BADHANDLE;
    case WSAEINTR: return IOCPH_E_CANCELED;
    default: return IOCPH_E_UNKNOWN;
    }
}

#else

#include <errno.h>

int32_t iocph__map_errno(int error)
{
    if (error < 0)
        error = -error;
    switch (error) {
    case 0: return IOCPH_OK;
    case ENOENT: return IOCPH_E_FILE_NOT_FOUND;
    case ENOTDIR: return IOCPH_E_PATH_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EROFS:
    case ETXTBSY: return IOCPH_E_ACCESS_DENIED;
    case EEXIST: return IOCPH_E_FILE_EXISTS;
    case ENOMEM:
    case ENOBUFS: return IOCPH_E_NOMEM;
    case EMFILE:
    case ENFILE: return IOCPH_E_TOO_MANY_HANDLES;
    case EBADF: return IOCPH_E_BADHANDLE;
    case EINVAL:
    case ENAMETOOLONG:
    case EFAULT:
    case EOVERFLOW: return IOCPH_E_INVALID_ARGUMENT;
    case ECANCELED:
    case EINTR: return IOCPH_E_CANCELED;
    case EPIPE: return IOCPH_E_BROKEN_PIPE; /* also a send after shutdown(SHUT_WR) */
    case ECONNREFUSED: return IOCPH_E_CONNECTION_REFUSED;
    case ECONNRESET:
    case ENETRESET: return IOCPH_E_CONNECTION_RESET;
    case ECONNABORTED: return IOCPH_E_CONNECTION_ABORTED;
    case EADDRINUSE: return IOCPH_E_ADDRESS_IN_USE;
    case EADDRNOTAVAIL: return IOCPH_E_ADDRESS_NOT_AVAILABLE;
    case EHOSTUNREACH:
    case EHOSTDOWN: return IOCPH_E_HOST_UNREACHABLE;
    case ENETUNREACH:
    case ENETDOWN: return IOCPH_E_NETWORK_UNREACHABLE;
    case EMSGSIZE: return IOCPH_E_MESSAGE_TOO_LARGE;
    case ENOTCONN: return IOCPH_E_NOT_CONNECTED;
    case EAFNOSUPPORT:
    case EPROTONOSUPPORT: return IOCPH_E_UNSUPPORTED;
    case ENOTSOCK: return IOCPH_E_BADHANDLE;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return IOCPH_E_DISK_FULL;
    case EIO: return IOCPH_E_IO;
    case EISDIR: return IOCPH_E_IS_DIRECTORY;
    case ENOSYS:
    case EOPNOTSUPP: return IOCPH_E_UNSUPPORTED;
    case ETIMEDOUT:
    case ETIME: return IOCPH_E_TIMEOUT;
    case EALREADY: return IOCPH_E_NOTPENDING;
    default: return IOCPH_E_UNKNOWN;
    }
}

#endif
