/* iocph_handle_associate on Windows: what a HANDLE or SOCKET is (GetFileType, getsockopt), whether
 * it was opened for overlapped I/O (the file object's mode, FileModeInformation), and the
 * duplicate the port owns when asked (ReOpenFile for files, WSADuplicateSocket for sockets,
 * DuplicateHandle for pipes). A second association is refused by Windows itself: the attach's
 * CreateIoCompletionPort (iocp_handle.c). */
#include "iocp_internal.h"

/* FileModeInformation (winternl.h does not have it in every mingw-w64): the file object's
 * creation options, among them whether its I/O is synchronous. */
#define IOCPH__FILE_MODE_INFORMATION 16
#define IOCPH__FILE_NO_INTERMEDIATE_BUFFERING 0x00000008
#define IOCPH__FILE_SYNCHRONOUS_IO_ALERT 0x00000010
#define IOCPH__FILE_SYNCHRONOUS_IO_NONALERT 0x00000020

typedef struct {
    union {
        LONG Status;
        PVOID Pointer;
    };
    ULONG_PTR Information;
} iocph__io_status_block;

typedef LONG(NTAPI *query_information_file_fn)(HANDLE, iocph__io_status_block *, PVOID, ULONG,
                                                 int);

/* The file object's mode bits, or false if they can't be read (then nothing is concluded). The
 * function is looked up in ntdll, already in every process, so the DLL imports nothing new; looked
 * up at each call (an association is no hot path), so no shared cache needs synchronising. */
static bool file_mode(HANDLE h, ULONG *mode)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    FARPROC fn = ntdll ? GetProcAddress(ntdll, "NtQueryInformationFile") : NULL;
    if (!fn)
        return false;
    query_information_file_fn query = (query_information_file_fn)(uintptr_t)fn;
    iocph__io_status_block io;
    return query(h, &io, mode, sizeof *mode, IOCPH__FILE_MODE_INFORMATION) >= 0;
}

static bool synchronous(HANDLE h)
{
    ULONG mode = 0;
    return file_mode(h, &mode) &&
           (mode & (IOCPH__FILE_SYNCHRONOUS_IO_ALERT | IOCPH__FILE_SYNCHRONOUS_IO_NONALERT));
}

/* FILE_TYPE_* of an open handle, or FILE_TYPE_UNKNOWN with *bad when it is not open. */
static DWORD file_type(HANDLE h, bool *bad)
{
    SetLastError(NO_ERROR);
    DWORD type = GetFileType(h);
    *bad = type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR;
    return type;
}

static bool is_socket(SOCKET s, int *type)
{
    int len = (int)sizeof *type;
    return getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)type, &len) == 0;
}

/* Reopens a disk file for overlapped I/O: read and write, else what the original handle's share
 * mode lets a second open have. *flags receives the access obtained. */
static HANDLE reopen(HANDLE h, DWORD extra, uint32_t *flags)
{
    static const DWORD access[] = {GENERIC_READ | GENERIC_WRITE, GENERIC_READ, GENERIC_WRITE};
    static const uint32_t got[] = {IOCPH_FILE_READ | IOCPH_FILE_WRITE, IOCPH_FILE_READ,
                                   IOCPH_FILE_WRITE};
    DWORD share = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    DWORD error = ERROR_ACCESS_DENIED;
    for (int i = 0; i < 3; i++) {
        HANDLE r = ReOpenFile(h, access[i], share, FILE_FLAG_OVERLAPPED | extra);
        if (r != INVALID_HANDLE_VALUE) {
            *flags |= got[i];
            return r;
        }
        error = GetLastError();
        if (error != ERROR_ACCESS_DENIED && error != ERROR_SHARING_VIOLATION)
            break;
    }
    SetLastError(error);
    return INVALID_HANDLE_VALUE;
}

static int32_t adopt_file(HANDLE h, bool duplicate, iocph__adopt *a)
{
    bool bad;
    DWORD type = file_type(h, &bad);
    if (bad)
        return IOCPH_E_BADHANDLE;
    if (type != FILE_TYPE_DISK)
        return IOCPH_E_WRONG_KIND;
    ULONG mode = 0;
    bool known = file_mode(h, &mode);
    bool unbuffered = known && (mode & IOCPH__FILE_NO_INTERMEDIATE_BUFFERING);
    a->flags = unbuffered ? IOCPH_FILE_UNBUFFERED : 0;
    if (!duplicate) {
        if (known && (mode & (IOCPH__FILE_SYNCHRONOUS_IO_ALERT | IOCPH__FILE_SYNCHRONOUS_IO_NONALERT)))
            return IOCPH_E_NOT_OVERLAPPED;
        a->flags |= IOCPH_FILE_READ | IOCPH_FILE_WRITE; /* not read back: the OS checks */
        a->os = (intptr_t)h;
        return IOCPH_OK;
    }
    HANDLE r = reopen(h, unbuffered ? FILE_FLAG_NO_BUFFERING : 0, &a->flags);
    if (r == INVALID_HANDLE_VALUE)
        return iocph__map_win32(GetLastError());
    a->os = (intptr_t)r;
    a->duplicated = true;
    return IOCPH_OK;
}

static int32_t adopt_pipe(uint32_t kind, HANDLE h, bool duplicate, iocph__adopt *a)
{
    bool bad;
    DWORD type = file_type(h, &bad);
    if (bad)
        return IOCPH_E_BADHANDLE;
    int sock_type;
    if (type != FILE_TYPE_PIPE || (iocph__win_winsock_init() == IOCPH_OK &&
                                   is_socket((SOCKET)h, &sock_type)))
        return IOCPH_E_WRONG_KIND; /* sockets are FILE_TYPE_PIPE too */
    if (synchronous(h))
        return IOCPH_E_NOT_OVERLAPPED;
    a->flags = kind == IOCPH__KIND_PIPE_READ ? IOCPH_FILE_READ : IOCPH_FILE_WRITE;
    a->os = (intptr_t)h;
    if (duplicate) {
        HANDLE d;
        if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, FALSE,
                             DUPLICATE_SAME_ACCESS))
            return iocph__map_win32(GetLastError());
        a->os = (intptr_t)d;
        a->duplicated = true;
    }
    return IOCPH_OK;
}

/* The socket's address family: its bound address, else its protocol (Wine 8 leaves the
 * protocol's family 0, but an unbound socket there is only possible for UDP). */
static int socket_family(SOCKET s)
{
    SOCKADDR_STORAGE local;
    int len = (int)sizeof local;
    if (getsockname(s, (struct sockaddr *)&local, &len) == 0)
        return local.ss_family;
    WSAPROTOCOL_INFOW info;
    len = (int)sizeof info;
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0)
        return 0;
    return info.iAddressFamily;
}

static int32_t check_socket(uint32_t kind, SOCKET s, int type, iocph__adopt *a)
{
    BOOL listening = FALSE;
    int len = (int)sizeof listening;
    if (getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, (char *)&listening, &len) != 0)
        listening = FALSE;
    int family = socket_family(s);
    if (family != AF_INET && family != AF_INET6)
        return IOCPH_E_WRONG_KIND;
    switch (kind) {
    case IOCPH__KIND_TCP_LISTENER:
        if (type != SOCK_STREAM || !listening)
            return IOCPH_E_WRONG_KIND;
        break;
    case IOCPH__KIND_TCP: {
        if (type != SOCK_STREAM || listening)
            return IOCPH_E_WRONG_KIND;
        SOCKADDR_STORAGE peer;
        len = (int)sizeof peer;
        if (getpeername(s, (struct sockaddr *)&peer, &len) != 0)
            return IOCPH_E_NOT_CONNECTED;
        break;
    }
    default: /* UDP */
        if (type != SOCK_DGRAM)
            return IOCPH_E_WRONG_KIND;
        break;
    }
    a->flags = family == AF_INET ? IOCPH_AF_INET : IOCPH_AF_INET6;
    return IOCPH_OK;
}

static int32_t adopt_socket(uint32_t kind, SOCKET s, bool duplicate, iocph__adopt *a)
{
    int32_t rc = iocph__win_winsock_init();
    if (rc < 0)
        return rc;
    int type;
    if (!is_socket(s, &type)) {
        bool bad;
        file_type((HANDLE)s, &bad);
        return bad ? IOCPH_E_BADHANDLE : IOCPH_E_WRONG_KIND;
    }
    if ((rc = check_socket(kind, s, type, a)) < 0)
        return rc;
    if (synchronous((HANDLE)s))
        return IOCPH_E_NOT_OVERLAPPED; /* WSASocket without WSA_FLAG_OVERLAPPED */
    a->os = (intptr_t)s;
    if (duplicate) {
        WSAPROTOCOL_INFOW info;
        if (WSADuplicateSocketW(s, GetCurrentProcessId(), &info) != 0)
            return iocph__map_win32((unsigned long)WSAGetLastError());
        SOCKET d = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, &info, 0,
                              WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
        if (d == INVALID_SOCKET)
            return iocph__map_win32((unsigned long)WSAGetLastError());
        a->os = (intptr_t)d;
        a->duplicated = true;
    }
    if (kind == IOCPH__KIND_UDP)
        iocph__win_udp_no_connreset((SOCKET)a->os);
    return IOCPH_OK;
}

int32_t iocph__win_handle_adopt(iocph__port *port, uint32_t kind, intptr_t os, bool duplicate,
                                iocph__adopt *adopt)
{
    (void)port;
    if ((HANDLE)os == INVALID_HANDLE_VALUE || os == 0)
        return IOCPH_E_BADHANDLE;
    if (kind == IOCPH__KIND_FILE)
        return adopt_file((HANDLE)os, duplicate, adopt);
    if (kind == IOCPH__KIND_PIPE_READ || kind == IOCPH__KIND_PIPE_WRITE)
        return adopt_pipe(kind, (HANDLE)os, duplicate, adopt);
    return adopt_socket(kind, (SOCKET)os, duplicate, adopt);
}

void iocph__win_handle_unadopt(iocph__port *port, uint32_t kind, const iocph__adopt *adopt)
{
    (void)port;
    if (!adopt->duplicated)
        return;
    if (iocph__win_is_socket_kind(kind))
        closesocket((SOCKET)adopt->os);
    else
        CloseHandle((HANDLE)adopt->os);
}
