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
    default: return "unknown status";
    }
}

const char *iocph__getenv(const char *name) { return getenv(name); }

#ifdef _WIN32

#ifndef ERROR_HANDLES_CLOSED
#define ERROR_HANDLES_CLOSED 676L /* not in every mingw-w64 winerror.h */
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
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN: return IOCPH_E_BROKEN_PIPE;
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
