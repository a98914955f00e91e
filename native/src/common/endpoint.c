/* iocph_endpoint <-> struct sockaddr_in / sockaddr_in6. The endpoint keeps the port in host
 * order and the address in network order, so that it is the same 24 bytes on every OS. */
#include "sock_os.h"

#include <string.h>

int iocph__endpoint_to_sockaddr(const iocph_endpoint *ep, void *storage, int storage_len)
{
    if (ep->family == IOCPH_AF_INET) {
        struct sockaddr_in sin;
        if (storage_len < (int)sizeof sin)
            return 0;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons(ep->port);
        memcpy(&sin.sin_addr, ep->address, 4);
        memcpy(storage, &sin, sizeof sin);
        return (int)sizeof sin;
    }
    if (ep->family == IOCPH_AF_INET6) {
        struct sockaddr_in6 sin6;
        if (storage_len < (int)sizeof sin6)
            return 0;
        memset(&sin6, 0, sizeof sin6);
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(ep->port);
        sin6.sin6_scope_id = ep->scope_id;
        memcpy(&sin6.sin6_addr, ep->address, 16);
        memcpy(storage, &sin6, sizeof sin6);
        return (int)sizeof sin6;
    }
    return 0;
}

int32_t iocph__endpoint_from_sockaddr(const void *sockaddr, int len, iocph_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    /* Copied out rather than cast: the caller's buffer need not be aligned for the struct. */
    if (len >= (int)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sockaddr, sizeof sin6);
        if (sin6.sin6_family == AF_INET6) {
            ep->family = IOCPH_AF_INET6;
            ep->port = ntohs(sin6.sin6_port);
            ep->scope_id = sin6.sin6_scope_id;
            memcpy(ep->address, &sin6.sin6_addr, 16);
            return IOCPH_OK;
        }
    }
    if (len >= (int)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sockaddr, sizeof sin);
        if (sin.sin_family == AF_INET) {
            ep->family = IOCPH_AF_INET;
            ep->port = ntohs(sin.sin_port);
            memcpy(ep->address, &sin.sin_addr, 4);
            return IOCPH_OK;
        }
    }
    return IOCPH_E_INVALID_ARGUMENT;
}
