/* Files: CreateFileW from a UTF-8 path, opened for overlapped I/O, and their length. */
#include "iocp_internal.h"

#include <stdlib.h>

/* The UTF-8 path as a newly allocated UTF-16 string, or NULL (*rc says why). */
static wchar_t *to_utf16(const char *path, int32_t *rc)
{
    int chars = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
    if (chars <= 0) {
        *rc = IOCPH_E_INVALID_ARGUMENT; /* not valid UTF-8 */
        return NULL;
    }
    wchar_t *wide = malloc((size_t)chars * sizeof *wide);
    if (!wide) {
        *rc = IOCPH_E_NOMEM;
        return NULL;
    }
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, wide, chars);
    return wide;
}

static DWORD creation_disposition(uint32_t flags)
{
    if (flags & IOCPH_FILE_CREATE) {
        if (flags & IOCPH_FILE_EXCLUSIVE)
            return CREATE_NEW;
        return (flags & IOCPH_FILE_TRUNCATE) ? CREATE_ALWAYS : OPEN_ALWAYS;
    }
    return (flags & IOCPH_FILE_TRUNCATE) ? TRUNCATE_EXISTING : OPEN_EXISTING;
}

int32_t iocph__win_file_open(iocph__port *port, const char *path_utf8, uint32_t flags,
                             intptr_t *os)
{
    (void)port;
    int32_t rc = IOCPH_OK;
    wchar_t *path = to_utf16(path_utf8, &rc);
    if (!path)
        return rc;
    DWORD access = 0;
    if (flags & IOCPH_FILE_READ)
        access |= GENERIC_READ;
    if (flags & IOCPH_FILE_WRITE)
        access |= GENERIC_WRITE;
    DWORD attributes = FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OVERLAPPED;
    if (flags & IOCPH_FILE_UNBUFFERED)
        attributes |= FILE_FLAG_NO_BUFFERING | FILE_FLAG_WRITE_THROUGH;
    /* Share everything, as POSIX files do: other opens, renames and deletes are not blocked. */
    DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    HANDLE h =
        CreateFileW(path, access, share, NULL, creation_disposition(flags), attributes, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        DWORD error = GetLastError();
        rc = iocph__map_win32(error);
        /* Without FILE_FLAG_BACKUP_SEMANTICS a directory fails with "access denied". */
        if (error == ERROR_ACCESS_DENIED) {
            DWORD attrs = GetFileAttributesW(path);
            if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY))
                rc = IOCPH_E_IS_DIRECTORY;
        }
        free(path);
        return rc;
    }
    free(path);
    *os = (intptr_t)h;
    return IOCPH_OK;
}

int32_t iocph__win_file_length(iocph__handle *handle, uint64_t *length)
{
    LARGE_INTEGER size;
    if (!GetFileSizeEx(iocph__win_os(handle), &size))
        return iocph__map_win32(GetLastError());
    *length = (uint64_t)size.QuadPart;
    return IOCPH_OK;
}
