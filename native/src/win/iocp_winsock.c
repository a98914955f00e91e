/* Winsock set-up for the IOCP backend: WSAStartup once per process, overlapped sockets that no
 * child process inherits, and the Microsoft extension functions (AcceptEx, ConnectEx,
 * GetAcceptExSockaddrs) fetched through WSAIoctl rather than imported from mswsock.dll. */
#include "iocp_internal.h"

static INIT_ONCE startup_once = INIT_ONCE_STATIC_INIT;
static int startup_error; /* WSAStartup's result, written once inside the INIT_ONCE */

static BOOL CALLBACK startup(PINIT_ONCE once, PVOID param, PVOID *context)
{
    (void)once;
    (void)param;
    (void)context;
    WSADATA data;
    /* Never balanced by WSACleanup: a socket handle may outlive every port (and the DLL is
     * unloaded only with the process), and Winsock counts WSAStartup calls anyway. */
    startup_error = WSAStartup(MAKEWORD(2, 2), &data);
    return TRUE;
}

int32_t iocph__win_winsock_init(void)
{
    InitOnceExecuteOnce(&startup_once, startup, NULL, NULL);
    return startup_error ? iocph__map_win32((unsigned long)startup_error) : IOCPH_OK;
}

/* Unconnected UDP sockets on Windows report an ICMP "port unreachable" for an earlier send as
 * WSAECONNRESET on the next receive; Linux reports nothing. Turning that off keeps a UDP
 * receive's outcome the same on both. Failure (an old stack, Wine) only loses that tidiness. */
void iocph__win_udp_no_connreset(SOCKET s)
{
    BOOL report = FALSE;
    DWORD ignored;
    WSAIoctl(s, SIO_UDP_CONNRESET, &report, sizeof report, NULL, 0, &ignored, NULL, NULL);
}

int32_t iocph__win_socket_create(iocph__port *port, uint32_t kind, int family, intptr_t *os)
{
    (void)port;
    int type = kind == IOCPH__KIND_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int32_t rc = iocph__win_winsock_init();
    if (rc < 0)
        return rc;
    int protocol = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    SOCKET s = WSASocketW(family, type, protocol, NULL, 0,
                          WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (s == INVALID_SOCKET)
        return iocph__map_win32((unsigned long)WSAGetLastError());
    if (type == SOCK_DGRAM)
        iocph__win_udp_no_connreset(s);
    *os = (intptr_t)s;
    return IOCPH_OK;
}

bool iocph__win_socket_is_ifs(SOCKET s)
{
    WSAPROTOCOL_INFOW info;
    int len = (int)sizeof info;
    if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len) != 0)
        return false; /* unknown: the safe answer */
    return (info.dwServiceFlags1 & XP1_IFS_HANDLES) != 0;
}

int iocph__win_socket_family(iocph__handle *handle, DWORD *error)
{
    iocph__win_handle *wh = handle->backend_data;
    int family = atomic_load_explicit(&wh->family, memory_order_relaxed);
    if (family)
        return family;
    /* A bound socket (a listener always is) names its family in its address. The protocol
     * info would cover unbound sockets too, but Wine 8 leaves its iAddressFamily 0. */
    SOCKADDR_STORAGE local;
    int len = (int)sizeof local;
    if (getsockname((SOCKET)handle->os, (struct sockaddr *)&local, &len) == 0) {
        family = local.ss_family;
    } else {
        WSAPROTOCOL_INFOW info;
        len = (int)sizeof info;
        if (getsockopt((SOCKET)handle->os, SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&info, &len))
            family = 0;
        else
            family = info.iAddressFamily;
    }
    if (family != AF_INET && family != AF_INET6) {
        *error = WSAEAFNOSUPPORT;
        return 0;
    }
    /* Racing callers store the same value. */
    atomic_store_explicit(&wh->family, family, memory_order_relaxed);
    return family;
}

/* Every TCP socket of the base provider returns the same pointers, so one fetch serves all. */
static void *extension(SOCKET s, GUID guid, void *_Atomic *cache, DWORD *error)
{
    void *fn = atomic_load_explicit(cache, memory_order_acquire);
    if (fn)
        return fn;
    DWORD bytes = 0;
    if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &guid, sizeof guid, &fn, sizeof fn,
                 &bytes, NULL, NULL) != 0) {
        *error = (DWORD)WSAGetLastError();
        return NULL;
    }
    atomic_store_explicit(cache, fn, memory_order_release);
    return fn;
}

static void *_Atomic accept_ex_fn;
static void *_Atomic connect_ex_fn;
static void *_Atomic sockaddrs_fn;

/* The extension pointers come back as void *: converting to a function pointer is what
 * WSAIoctl's contract asks for, and both have the same size on every Windows target. */
#define IOCPH__FN_CAST(type, p) ((type)(uintptr_t)(p))

LPFN_ACCEPTEX iocph__win_accept_ex(SOCKET s, DWORD *error)
{
    GUID guid = WSAID_ACCEPTEX;
    return IOCPH__FN_CAST(LPFN_ACCEPTEX, extension(s, guid, &accept_ex_fn, error));
}

LPFN_CONNECTEX iocph__win_connect_ex(SOCKET s, DWORD *error)
{
    GUID guid = WSAID_CONNECTEX;
    return IOCPH__FN_CAST(LPFN_CONNECTEX, extension(s, guid, &connect_ex_fn, error));
}

LPFN_GETACCEPTEXSOCKADDRS iocph__win_get_accept_ex_sockaddrs(SOCKET s, DWORD *error)
{
    GUID guid = WSAID_GETACCEPTEXSOCKADDRS;
    return IOCPH__FN_CAST(LPFN_GETACCEPTEXSOCKADDRS, extension(s, guid, &sockaddrs_fn, error));
}
