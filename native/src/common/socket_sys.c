/* The synchronous BSD-socket calls that IOCP and io_uring share: bind, listen, options,
 * endpoint queries, half-close. Only the names of the error functions and a few types differ
 * between Winsock and POSIX (sock_os.h). */
#include "sock_os.h"

#include <string.h>

#define S(os) ((iocph__sock_t)(os))

int iocph__sock_os_family(uint32_t family)
{
    return family == IOCPH_AF_INET ? AF_INET : family == IOCPH_AF_INET6 ? AF_INET6 : 0;
}

static int32_t set_int(intptr_t os, int level, int name, int value)
{
    if (setsockopt(S(os), level, name, (const char *)&value, (iocph__socklen_t)sizeof value) != 0)
        return IOCPH__SOCK_ERROR();
    return IOCPH_OK;
}

int32_t iocph__sock_bind(intptr_t os, const iocph_endpoint *local, uint32_t flags)
{
    int32_t rc;
    if ((flags & IOCPH_SOCKET_REUSE_ADDRESS) &&
        (rc = set_int(os, SOL_SOCKET, SO_REUSEADDR, 1)) < 0)
        return rc;
    /* Always explicit: Linux defaults to dual mode, Windows to IPv6 only. */
    if (local->family == IOCPH_AF_INET6 &&
        (rc = set_int(os, IPPROTO_IPV6, IPV6_V6ONLY,
                      (flags & IOCPH_SOCKET_DUAL_MODE) ? 0 : 1)) < 0)
        return rc;
    struct sockaddr_storage ss;
    int len = iocph__endpoint_to_sockaddr(local, &ss, (int)sizeof ss);
    if (len == 0)
        return IOCPH_E_INVALID_ARGUMENT;
    if (bind(S(os), (const struct sockaddr *)&ss, (iocph__socklen_t)len) != 0)
        return IOCPH__SOCK_ERROR();
    return IOCPH_OK;
}

int32_t iocph__sock_listen(intptr_t os, int32_t backlog)
{
    if (listen(S(os), backlog <= 0 ? SOMAXCONN : backlog) != 0)
        return IOCPH__SOCK_ERROR();
    return IOCPH_OK;
}

int32_t iocph__sock_shutdown_send(intptr_t os)
{
    if (shutdown(S(os), IOCPH__SHUT_SEND) != 0)
        return IOCPH__SOCK_ERROR();
    return IOCPH_OK;
}

int32_t iocph__sock_get_endpoint(intptr_t os, int32_t which, iocph_endpoint *endpoint)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    iocph__socklen_t len = (iocph__socklen_t)sizeof ss;
    int ret = which == IOCPH_ENDPOINT_LOCAL ? getsockname(S(os), (struct sockaddr *)&ss, &len)
                                            : getpeername(S(os), (struct sockaddr *)&ss, &len);
    if (ret != 0) {
        int32_t rc = IOCPH__SOCK_ERROR();
        /* Winsock says WSAEINVAL for the local endpoint of an unbound socket. */
        return rc == IOCPH_E_INVALID_ARGUMENT ? IOCPH_E_NOT_CONNECTED : rc;
    }
    return iocph__endpoint_from_sockaddr(&ss, (int)len, endpoint);
}

/* Where each option lives. */
static void option_name(int32_t option, int *level, int *name)
{
    switch (option) {
    case IOCPH_SOCKOPT_NO_DELAY: *level = IPPROTO_TCP; *name = TCP_NODELAY; break;
    case IOCPH_SOCKOPT_KEEP_ALIVE: *level = SOL_SOCKET; *name = SO_KEEPALIVE; break;
    case IOCPH_SOCKOPT_SEND_BUFFER: *level = SOL_SOCKET; *name = SO_SNDBUF; break;
    case IOCPH_SOCKOPT_RECEIVE_BUFFER: *level = SOL_SOCKET; *name = SO_RCVBUF; break;
    case IOCPH_SOCKOPT_LINGER: *level = SOL_SOCKET; *name = SO_LINGER; break;
    default: *level = SOL_SOCKET; *name = SO_REUSEADDR; break;
    }
}

int32_t iocph__sock_set_option(intptr_t os, bool is_tcp, int32_t option, int32_t value)
{
    if (option == IOCPH_SOCKOPT_NO_DELAY && !is_tcp)
        return IOCPH_E_UNSUPPORTED;
    if (option == IOCPH_SOCKOPT_LINGER) {
        if (value < -1 || value > 65535) /* Winsock's l_linger is a u_short */
            return IOCPH_E_INVALID_ARGUMENT;
        struct linger l;
        memset(&l, 0, sizeof l);
        l.l_onoff = value >= 0;
        l.l_linger = value >= 0 ? value : 0;
        if (setsockopt(S(os), SOL_SOCKET, SO_LINGER, (const char *)&l,
                       (iocph__socklen_t)sizeof l) != 0)
            return IOCPH__SOCK_ERROR();
        return IOCPH_OK;
    }
    bool boolean = option == IOCPH_SOCKOPT_NO_DELAY || option == IOCPH_SOCKOPT_KEEP_ALIVE ||
                   option == IOCPH_SOCKOPT_REUSE_ADDRESS;
    if ((boolean && value != 0 && value != 1) || value < 0)
        return IOCPH_E_INVALID_ARGUMENT;
    int level, name;
    option_name(option, &level, &name);
    return set_int(os, level, name, value);
}

int32_t iocph__sock_get_option(intptr_t os, bool is_tcp, int32_t option, int32_t *value)
{
    if (option == IOCPH_SOCKOPT_NO_DELAY && !is_tcp)
        return IOCPH_E_UNSUPPORTED;
    if (option == IOCPH_SOCKOPT_LINGER) {
        struct linger l;
        memset(&l, 0, sizeof l);
        iocph__socklen_t len = (iocph__socklen_t)sizeof l;
        if (getsockopt(S(os), SOL_SOCKET, SO_LINGER, (char *)&l, &len) != 0)
            return IOCPH__SOCK_ERROR();
        *value = l.l_onoff ? (int32_t)l.l_linger : -1;
        return IOCPH_OK;
    }
    int level, name;
    option_name(option, &level, &name);
    /* Zeroed first: some Winsock versions write a single byte for boolean options. */
    int v = 0;
    iocph__socklen_t len = (iocph__socklen_t)sizeof v;
    if (getsockopt(S(os), level, name, (char *)&v, &len) != 0)
        return IOCPH__SOCK_ERROR();
    bool boolean = option == IOCPH_SOCKOPT_NO_DELAY || option == IOCPH_SOCKOPT_KEEP_ALIVE ||
                   option == IOCPH_SOCKOPT_REUSE_ADDRESS;
    *value = boolean ? (v != 0) : v;
    return IOCPH_OK;
}
