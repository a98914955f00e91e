/* Socket public functions: TCP listen/accept/connect, send/receive (also gather/scatter),
 * half-close, endpoints, options, UDP. Every argument is checked here, before any OS call; the
 * start path is the one files and pipes use (api_shared.h), with the op's socket block filled in
 * between begin and submit.
 *
 * A socket handle's `flags` field holds its iocph_address_family (4 or 6), so that an endpoint
 * of the other family is refused (or mapped, for dual-mode IPv6 sockets) before the OS sees it. */
#include "api_shared.h"
#include "sock_os.h"

#include <stdlib.h>
#include <string.h>

#define LISTENER_KINDS (1u << IOCPH__KIND_TCP_LISTENER)
#define TCP_KINDS (1u << IOCPH__KIND_TCP)
#define UDP_KINDS (1u << IOCPH__KIND_UDP)
#define SOCKET_KINDS (LISTENER_KINDS | TCP_KINDS | UDP_KINDS)
#define KNOWN_SOCKET_FLAGS (IOCPH_SOCKET_REUSE_ADDRESS | IOCPH_SOCKET_DUAL_MODE)

static bool valid_endpoint(const iocph_endpoint *ep)
{
    return ep && (ep->family == IOCPH_AF_INET || ep->family == IOCPH_AF_INET6);
}

/* The endpoint as the socket of family sock_family must see it: IPv4 on an IPv6 socket becomes
 * ::ffff:a.b.c.d (it reaches IPv4 only if the socket is dual mode, else the OS refuses it). */
static int32_t adapt_endpoint(uint32_t sock_family, const iocph_endpoint *in, iocph_endpoint *out)
{
    *out = *in;
    if (in->family == sock_family)
        return IOCPH_OK;
    if (sock_family == IOCPH_AF_INET6 && in->family == IOCPH_AF_INET) {
        memset(out, 0, sizeof *out);
        out->family = IOCPH_AF_INET6;
        out->port = in->port;
        out->address[10] = 0xFF;
        out->address[11] = 0xFF;
        memcpy(out->address + 12, in->address, 4);
        return IOCPH_OK;
    }
    return IOCPH_E_INVALID_ARGUMENT;
}

/* A new socket of the port, bound to local (if not NULL) and listening if asked. On failure
 * nothing is left open. */
static int32_t make_socket(iocph__port *port, uint32_t kind, uint32_t family,
                           const iocph_endpoint *local, uint32_t flags, bool do_listen,
                           int32_t backlog, intptr_t *os_out)
{
    intptr_t os;
    int32_t rc = port->backend->socket_create(port, kind, iocph__sock_os_family(family), &os);
    if (rc < 0)
        return rc;
    /* No local endpoint for a connect: the IOCP backend binds the wildcard that ConnectEx
     * needs when it starts the connect; io_uring's connect binds implicitly. */
    if (local)
        rc = iocph__sock_bind(os, local, flags);
    if (rc == IOCPH_OK && do_listen)
        rc = iocph__sock_listen(os, backlog);
    if (rc < 0) {
        iocph__close_unpublished(port, kind, os);
        return rc;
    }
    *os_out = os;
    return IOCPH_OK;
}

/* Creates, binds (and listens) and publishes: iocph_tcp_listen, iocph_udp_bind. */
static int32_t open_bound(iocph_port_t port_value, uint32_t kind, const iocph_endpoint *local,
                          int32_t backlog, uint32_t flags, uint64_t key, iocph_handle_t *out)
{
    if (out)
        *out = 0;
    if (!out || !valid_endpoint(local) || (flags & ~(uint32_t)KNOWN_SOCKET_FLAGS) ||
        ((flags & IOCPH_SOCKET_DUAL_MODE) && local->family != IOCPH_AF_INET6))
        return IOCPH_E_INVALID_ARGUMENT;
    int32_t rc;
    iocph__port *port = iocph__port_running(port_value, &rc);
    if (!port)
        return rc;
    intptr_t os;
    rc = make_socket(port, kind, local->family, local, flags, kind == IOCPH__KIND_TCP_LISTENER,
                     backlog, &os);
    if (rc == IOCPH_OK)
        rc = iocph__handle_publish(port, kind, os, local->family, key, out);
    iocph__port_release(port);
    return rc;
}

int32_t iocph_tcp_listen(iocph_port_t port, const iocph_endpoint *local, int32_t backlog,
                         uint32_t flags, uint64_t key, iocph_handle_t *listener)
{
    return open_bound(port, IOCPH__KIND_TCP_LISTENER, local, backlog, flags, key, listener);
}

int32_t iocph_udp_bind(iocph_port_t port, const iocph_endpoint *local, uint32_t flags,
                       uint64_t key, iocph_handle_t *socket)
{
    return open_bound(port, IOCPH__KIND_UDP, local, 0, flags, key, socket);
}

/* begin + the op's socket block (unless it needs none: iocph__op_wants_socket_block), reset
 * for this use. `length`: the op's total byte count (0 only for a wait for data). */
static int32_t socket_op_begin(iocph_handle_t value, uint32_t kind_mask, uint32_t op_kind,
                               uint32_t length, uint32_t timeout_ms, uint64_t user_data,
                               iocph__op **op_out)
{
    iocph__op *op;
    bool block = iocph__op_wants_socket_block(op_kind, length, timeout_ms);
    int32_t rc = iocph__io_begin_with(value, kind_mask, block, &op);
    if (rc < 0)
        return rc;
    op->user_data = user_data;
    op->kind = op_kind;
    *op_out = op;
    iocph__op_socket *s = op->sock;
    if (!s)
        return IOCPH_OK;
    /* The per-kind union: endpoint is its largest member, so this zeroes endpoint_out,
     * accept_out, accept_key and progress too. */
    _Static_assert(sizeof s->endpoint >= sizeof s->accept_out + sizeof s->accept_key,
                   "endpoint must cover the whole union");
    memset(&s->endpoint, 0, sizeof s->endpoint);
    s->timeout_ms = timeout_ms;
    s->buffer_count = 0;
    return IOCPH_OK;
}

int32_t iocph_tcp_accept(iocph_handle_t listener, uint64_t key, iocph_accept_result *result,
                         uint32_t timeout_ms, uint64_t user_data, iocph_op_t *op_out)
{
    if (op_out)
        *op_out = 0;
    if (!result)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__op *op;
    int32_t rc = socket_op_begin(listener, LISTENER_KINDS, IOCPH__OP_ACCEPT, 0, timeout_ms,
                                 user_data, &op);
    if (rc < 0)
        return rc;
    op->sock->accept_out = result;
    op->sock->accept_key = key;
    return iocph__io_submit(op, op_out);
}

/* An accepted OS socket becomes a handle of the listener's port under `key`; fills *out. */
static int32_t publish_accepted(iocph__handle *listener, uint64_t key, intptr_t os,
                                const void *sockaddr, int sockaddr_len, iocph_accept_result *out)
{
    iocph_endpoint remote;
    if (sockaddr_len <= 0 || iocph__endpoint_from_sockaddr(sockaddr, sockaddr_len, &remote) < 0)
        memset(&remote, 0, sizeof remote); /* the peer reset before it could be asked */
    iocph_handle_t value;
    int32_t rc = iocph__handle_publish(listener->port, IOCPH__KIND_TCP, os, listener->flags, key,
                                       &value);
    if (rc < 0)
        return rc;
    out->socket = value;
    out->remote = remote;
    return IOCPH_OK;
}

int32_t iocph__accept_publish(iocph__op *op, intptr_t os, const void *sockaddr, int sockaddr_len)
{
    return publish_accepted(op->handle, op->sock->accept_key, os, sockaddr, sockaddr_len,
                            op->sock->accept_out);
}

int32_t iocph_tcp_try_accept(iocph_handle_t listener, uint64_t key, iocph_accept_result *result)
{
    if (!result)
        return IOCPH_E_INVALID_ARGUMENT;
    memset(result, 0, sizeof *result);
    iocph__handle *h = iocph__table_acquire(listener, LISTENER_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc;
    if (atomic_load_explicit(&h->port->state, memory_order_acquire) != IOCPH__PORT_RUNNING) {
        rc = IOCPH_E_SHUTDOWN;
    } else if (!h->port->backend->try_accept) {
        rc = IOCPH_E_WOULD_BLOCK;
    } else {
        struct sockaddr_storage peer;
        int peer_len = (int)sizeof peer;
        intptr_t os;
        rc = h->port->backend->try_accept(h, &os, &peer, &peer_len);
        if (rc == IOCPH_OK)
            rc = publish_accepted(h, key, os, &peer, peer_len, result);
    }
    iocph__table_release(listener);
    return rc;
}

int32_t iocph_tcp_connect(iocph_port_t port_value, const iocph_endpoint *remote,
                          const iocph_endpoint *local, uint64_t key, uint32_t timeout_ms,
                          uint64_t user_data, iocph_handle_t *socket, iocph_op_t *op_out)
{
    if (socket)
        *socket = 0;
    if (op_out)
        *op_out = 0;
    if (!socket || !valid_endpoint(remote) || (local && !valid_endpoint(local)) ||
        (local && local->family != remote->family) || remote->port == 0)
        return IOCPH_E_INVALID_ARGUMENT;
    int32_t rc;
    iocph__port *port = iocph__port_running(port_value, &rc);
    if (!port)
        return rc;
    intptr_t os;
    iocph_handle_t value = 0;
    rc = make_socket(port, IOCPH__KIND_TCP, remote->family, local, 0, false, 0, &os);
    if (rc == IOCPH_OK)
        rc = iocph__handle_publish(port, IOCPH__KIND_TCP, os, remote->family, key, &value);
    iocph__port_release(port);
    if (rc < 0)
        return rc;
    iocph__op *op;
    rc = socket_op_begin(value, TCP_KINDS, IOCPH__OP_CONNECT, 0, timeout_ms, user_data, &op);
    if (rc == IOCPH_OK) {
        op->sock->endpoint = *remote;
        rc = iocph__io_submit(op, op_out);
    }
    if (rc < 0) {
        /* The contract: an error return leaves nothing behind, not even the socket. */
        iocph_handle_close(value);
        return rc;
    }
    *socket = value;
    return IOCPH_OK;
}

/* Validates a buffer array: 1..IOCPH_MAX_BUFFERS entries, reserved 0, no NULL data behind a
 * non-zero length, a total of 1..IOCPH_MAX_IO_LENGTH bytes. Empty entries are allowed (a
 * segmented buffer may have some). */
static bool valid_buffers(const iocph_buffer *buffers, uint32_t count)
{
    if (!buffers || count == 0 || count > IOCPH_MAX_BUFFERS)
        return false;
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (buffers[i].reserved != 0 || (buffers[i].length && !buffers[i].data))
            return false;
        total += buffers[i].length;
    }
    return total >= 1 && total <= IOCPH_MAX_IO_LENGTH;
}

static int32_t start_stream(iocph_handle_t socket, uint32_t op_kind, const iocph_buffer *buffers,
                            uint32_t count, uint32_t timeout_ms, uint64_t user_data,
                            iocph_op_t *op_out)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++)
        total += buffers[i].length;
    iocph__op *op;
    int32_t rc =
        socket_op_begin(socket, TCP_KINDS, op_kind, (uint32_t)total, timeout_ms, user_data, &op);
    if (rc < 0)
        return rc;
    op->buffer = (uint8_t *)buffers[0].data;
    op->length = (uint32_t)total;
    iocph__op_socket *s = op->sock;
    if (!s)
        return iocph__io_submit(op, op_out); /* a wait for data: nothing else to keep */
    if (count > 1) {
        /* Only the starting thread touches the op before it is submitted: no race here. */
        if (!s->gather && !(s->gather = malloc(IOCPH_MAX_BUFFERS * sizeof *s->gather))) {
            iocph__io_abort(op);
            return IOCPH_E_NOMEM;
        }
    }
    s->buffer_count = count; /* first: it says where iocph__op_buffers(s) are */
    iocph_buffer *mine = iocph__op_buffers(s);
    for (uint32_t i = 0; i < count; i++)
        mine[i] = buffers[i];
    return iocph__io_submit(op, op_out);
}

static int32_t start_single(iocph_handle_t socket, uint32_t op_kind, const void *buffer,
                            uint32_t length, uint32_t timeout_ms, uint64_t user_data,
                            iocph_op_t *op_out)
{
    if (op_out)
        *op_out = 0;
    if (!buffer || length == 0 || length > IOCPH_MAX_IO_LENGTH)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph_buffer b = {(void *)(uintptr_t)buffer, length, 0};
    return start_stream(socket, op_kind, &b, 1, timeout_ms, user_data, op_out);
}

int32_t iocph_socket_send(iocph_handle_t socket, const void *buffer, uint32_t length,
                          uint32_t timeout_ms, uint64_t user_data, iocph_op_t *op)
{
    return start_single(socket, IOCPH__OP_SEND, buffer, length, timeout_ms, user_data, op);
}

int32_t iocph_socket_receive(iocph_handle_t socket, void *buffer, uint32_t length,
                             uint32_t timeout_ms, uint64_t user_data, iocph_op_t *op)
{
    if (length == 0) {
        /* Wait for data (iocph__op_waits_for_data): no buffer, whatever `buffer` says. */
        if (op)
            *op = 0;
        iocph_buffer none = {NULL, 0, 0};
        return start_stream(socket, IOCPH__OP_RECEIVE, &none, 1, timeout_ms, user_data, op);
    }
    return start_single(socket, IOCPH__OP_RECEIVE, buffer, length, timeout_ms, user_data, op);
}

int32_t iocph_socket_send_gather(iocph_handle_t socket, const iocph_buffer *buffers,
                                 uint32_t count, uint32_t timeout_ms, uint64_t user_data,
                                 iocph_op_t *op)
{
    if (op)
        *op = 0;
    if (!valid_buffers(buffers, count))
        return IOCPH_E_INVALID_ARGUMENT;
    return start_stream(socket, IOCPH__OP_SEND, buffers, count, timeout_ms, user_data, op);
}

int32_t iocph_socket_receive_scatter(iocph_handle_t socket, const iocph_buffer *buffers,
                                     uint32_t count, uint32_t timeout_ms, uint64_t user_data,
                                     iocph_op_t *op)
{
    if (op)
        *op = 0;
    if (!valid_buffers(buffers, count))
        return IOCPH_E_INVALID_ARGUMENT;
    return start_stream(socket, IOCPH__OP_RECEIVE, buffers, count, timeout_ms, user_data, op);
}

int32_t iocph_udp_send_to(iocph_handle_t socket, const void *buffer, uint32_t length,
                          const iocph_endpoint *remote, uint32_t timeout_ms, uint64_t user_data,
                          iocph_op_t *op_out)
{
    if (op_out)
        *op_out = 0;
    if (!buffer || length == 0 || length > IOCPH_MAX_IO_LENGTH || !valid_endpoint(remote) ||
        remote->port == 0)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__op *op;
    int32_t rc =
        socket_op_begin(socket, UDP_KINDS, IOCPH__OP_SEND_TO, length, timeout_ms, user_data, &op);
    if (rc < 0)
        return rc;
    rc = adapt_endpoint(op->handle->flags, remote, &op->sock->endpoint);
    if (rc < 0) {
        iocph__io_abort(op);
        return rc;
    }
    op->buffer = (uint8_t *)(uintptr_t)buffer;
    op->length = length;
    return iocph__io_submit(op, op_out);
}

int32_t iocph_udp_receive_from(iocph_handle_t socket, void *buffer, uint32_t length,
                               iocph_endpoint *remote, uint32_t timeout_ms, uint64_t user_data,
                               iocph_op_t *op_out)
{
    if (op_out)
        *op_out = 0;
    if (!buffer || length == 0 || length > IOCPH_MAX_IO_LENGTH)
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__op *op;
    int32_t rc =
        socket_op_begin(socket, UDP_KINDS, IOCPH__OP_RECEIVE_FROM, length, timeout_ms,
                        user_data, &op);
    if (rc < 0)
        return rc;
    op->sock->endpoint_out = remote; /* NULL: the caller does not want the sender */
    op->buffer = (uint8_t *)buffer;
    op->length = length;
    return iocph__io_submit(op, op_out);
}

int32_t iocph_socket_shutdown_send(iocph_handle_t socket)
{
    iocph__handle *h = iocph__table_acquire(socket, TCP_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = iocph__sock_shutdown_send(h->os);
    iocph__table_release(socket);
    return rc;
}

int32_t iocph_socket_get_endpoint(iocph_handle_t socket, int32_t which, iocph_endpoint *endpoint)
{
    if (!endpoint || (which != IOCPH_ENDPOINT_LOCAL && which != IOCPH_ENDPOINT_REMOTE))
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__handle *h = iocph__table_acquire(socket, SOCKET_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = iocph__sock_get_endpoint(h->os, which, endpoint);
    iocph__table_release(socket);
    return rc;
}

static bool known_option(int32_t option)
{
    return option >= IOCPH_SOCKOPT_NO_DELAY && option <= IOCPH_SOCKOPT_REUSE_ADDRESS;
}

int32_t iocph_socket_set_option(iocph_handle_t socket, int32_t option, int32_t value)
{
    if (!known_option(option))
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__handle *h = iocph__table_acquire(socket, SOCKET_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = iocph__sock_set_option(h->os, h->kind != IOCPH__KIND_UDP, option, value);
    iocph__table_release(socket);
    return rc;
}

int32_t iocph_socket_get_option(iocph_handle_t socket, int32_t option, int32_t *value)
{
    if (!value || !known_option(option))
        return IOCPH_E_INVALID_ARGUMENT;
    iocph__handle *h = iocph__table_acquire(socket, SOCKET_KINDS);
    if (!h)
        return IOCPH_E_BADHANDLE;
    int32_t rc = iocph__sock_get_option(h->os, h->kind != IOCPH__KIND_UDP, option, value);
    iocph__table_release(socket);
    return rc;
}
