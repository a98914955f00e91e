/* Socket operations on IOCP: AcceptEx on a pre-created socket, ConnectEx after an implicit bind,
 * WSASend / WSARecv over WSABUF arrays, WSASendTo / WSARecvFrom, with the op's timeout armed
 * around each of them.
 *
 * The exactly-once rule for sockets:
 *   FALSE + WSA_IO_PENDING        a packet will arrive;
 *   TRUE                          a packet arrives too, unless the socket skips completion
 *                                 packets on success (TCP): then the outcome is re-posted as a
 *                                 KEY_IO packet;
 *   FALSE + a warning status      (ov.Internal 0x8xxxxxxx: a datagram truncated at once) the
 *                                 I/O manager queues a packet as for a success; UDP sockets
 *                                 never skip, so it always arrives (seen under Wine);
 *   FALSE + any other error       no packet (as libuv and .NET rely on): the error is the op's
 *                                 outcome and is re-posted the same way (op->backend_error).
 * Unlike files and pipes, no error the socket call reports is a refusal: reset, shut down,
 * unreachable all become the completion's result, as io_uring reports them. Only what fails
 * before the call (the accept socket, the implicit bind, the timer) refuses the op.
 * Re-posting as KEY_IO means one finishing path, on a dequeuing thread, for every outcome:
 * the accept's SO_UPDATE_ACCEPT_CONTEXT and publication, a send's next chunk, the timer's end. */
#include "iocp_internal.h"

#include <string.h>

#define ACCEPT_ADDR_LEN ((DWORD)(sizeof(SOCKADDR_STORAGE) + 16))

static SOCKET os_socket(const iocph__op *op) { return (SOCKET)op->handle->os; }

static uint64_t send_total(const iocph__op_socket *s)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < s->buffer_count; i++)
        total += iocph__op_buffers(s)[i].length;
    return total;
}

/* The WSABUFs of a send's unsent bytes (skip `done` bytes) or of a whole receive. */
static DWORD fill_bufs(iocph__op *op, uint64_t done)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    DWORD n = 0;
    for (uint32_t i = 0; i < op->sock->buffer_count; i++) {
        const iocph_buffer *b = &iocph__op_buffers(op->sock)[i];
        if (done >= b->length) {
            done -= b->length;
            continue;
        }
        ext->bufs[n].buf = (char *)b->data + done;
        ext->bufs[n].len = (ULONG)(b->length - done);
        done = 0;
        n++;
    }
    return n;
}

/* ConnectEx needs a bound socket: bind to the family's wildcard unless the caller bound one. */
static int32_t ensure_bound(SOCKET s, int family)
{
    SOCKADDR_STORAGE local;
    int len = (int)sizeof local;
    if (getsockname(s, (struct sockaddr *)&local, &len) == 0)
        return IOCPH_OK;
    int error = WSAGetLastError();
    if (error != WSAEINVAL) /* WSAEINVAL: not bound yet */
        return iocph__map_win32((unsigned long)error);
    memset(&local, 0, sizeof local);
    local.ss_family = (ADDRESS_FAMILY)family;
    len = family == AF_INET6 ? (int)sizeof(struct sockaddr_in6) : (int)sizeof(struct sockaddr_in);
    if (bind(s, (struct sockaddr *)&local, len) != 0)
        return iocph__map_win32((unsigned long)WSAGetLastError());
    return IOCPH_OK;
}

static int32_t issue_accept(iocph__op *op, BOOL *ok, DWORD *bytes)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    SOCKET listener = os_socket(op);
    DWORD error = 0;
    int family = iocph__win_socket_family(op->handle, &error);
    LPFN_ACCEPTEX accept_ex = family ? iocph__win_accept_ex(listener, &error) : NULL;
    if (!accept_ex)
        return iocph__map_win32(error);
    intptr_t s;
    int32_t rc = iocph__win_socket_create(op->port, IOCPH__KIND_TCP, family, &s);
    if (rc < 0)
        return rc;
    ext->accept_socket = (SOCKET)s;
    *ok = accept_ex(listener, ext->accept_socket, ext->accept_buf, 0, ACCEPT_ADDR_LEN,
                    ACCEPT_ADDR_LEN, bytes, &op->ov);
    return IOCPH_OK;
}

static int32_t issue_connect(iocph__op *op, BOOL *ok, DWORD *bytes)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    SOCKET s = os_socket(op);
    int len = iocph__endpoint_to_sockaddr(&op->sock->endpoint, &ext->addr, (int)sizeof ext->addr);
    if (len == 0)
        return IOCPH_E_INVALID_ARGUMENT;
    int32_t rc = ensure_bound(s, ext->addr.ss_family);
    if (rc < 0)
        return rc;
    DWORD error = 0;
    LPFN_CONNECTEX connect_ex = iocph__win_connect_ex(s, &error);
    if (!connect_ex)
        return iocph__map_win32(error);
    *ok = connect_ex(s, (const struct sockaddr *)&ext->addr, len, NULL, 0, bytes, &op->ov);
    return IOCPH_OK;
}

/* An NTSTATUS of severity "warning" (STATUS_BUFFER_OVERFLOW): neither success nor error. */
static bool is_warning(ULONG_PTR status) { return ((uint32_t)status >> 30) == 2; }

/* The call failed at once on a socket that does not skip packets: was a packet queued all the
 * same (a warning status, see the top)? Only the OVERLAPPED's status tells, and if a packet was
 * queued a worker may already have finished the op and its slot gone to another op. Under
 * op->lock the op cannot be freed (iocph__op_free takes it): a generation that moved on means
 * the op finished through the port, so its packet came; the same generation means the op is
 * still this one and its status is the call's (the OS wrote it before returning). */
static bool packet_queued_after_error(iocph__op *op, uint32_t generation, uint32_t kind)
{
    iocph__spin_lock(&op->lock);
    bool queued = atomic_load_explicit(&op->generation, memory_order_relaxed) != generation ||
                  op->kind != kind || is_warning(op->ov.Internal);
    iocph__spin_unlock(&op->lock);
    return queued;
}

/* Calls the op's Winsock function. Returns < 0 when nothing was started (no completion is due),
 * else 0 with *error = ERROR_IO_PENDING (a packet will come), 0 (finished at once, *bytes), or
 * the Winsock error the call finished with at once.
 * Once the call has queued a packet, a worker may dequeue it, finish the op and give its slot to
 * another op before the call even returns here: what is needed afterwards is read before it. */
static int32_t issue(iocph__op *op, DWORD *error, DWORD *bytes)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    SOCKET s = os_socket(op);
    const bool skip_on_success =
        ((const iocph__win_handle *)op->handle->backend_data)->skip_on_success;
    const uint32_t generation = atomic_load_explicit(&op->generation, memory_order_relaxed);
    const uint32_t kind = op->kind;
    memset(&op->ov, 0, sizeof op->ov);
    op->backend_error = 0;
    *bytes = 0;
    BOOL ok = FALSE;
    int32_t rc = IOCPH_OK;
    switch (kind) {
    case IOCPH__OP_ACCEPT: rc = issue_accept(op, &ok, bytes); break;
    case IOCPH__OP_CONNECT: rc = issue_connect(op, &ok, bytes); break;
    case IOCPH__OP_SEND: {
        DWORD n = fill_bufs(op, op->sock->progress);
        ok = WSASend(s, ext->bufs, n, bytes, 0, &op->ov, NULL) == 0;
        break;
    }
    case IOCPH__OP_RECEIVE: {
        if (!ext) {
            /* A wait for data without a timeout: no socket block (see iocph__win_sock_ext). */
            WSABUF none = {0, NULL};
            DWORD flags = 0;
            ok = WSARecv(s, &none, 1, bytes, &flags, &op->ov, NULL) == 0;
            break;
        }
        DWORD n = fill_bufs(op, 0);
        ext->recv_flags = 0;
        ok = WSARecv(s, ext->bufs, n, bytes, &ext->recv_flags, &op->ov, NULL) == 0;
        break;
    }
    case IOCPH__OP_SEND_TO: {
        int len =
            iocph__endpoint_to_sockaddr(&op->sock->endpoint, &ext->addr, (int)sizeof ext->addr);
        if (len == 0)
            return IOCPH_E_INVALID_ARGUMENT;
        ext->bufs[0].buf = (char *)op->buffer;
        ext->bufs[0].len = op->length;
        ok = WSASendTo(s, ext->bufs, 1, bytes, 0, (const struct sockaddr *)&ext->addr, len,
                       &op->ov, NULL) == 0;
        break;
    }
    case IOCPH__OP_RECEIVE_FROM:
        ext->bufs[0].buf = (char *)op->buffer;
        ext->bufs[0].len = op->length;
        ext->recv_flags = 0;
        ext->addr_len = (INT)sizeof ext->addr;
        ok = WSARecvFrom(s, ext->bufs, 1, bytes, &ext->recv_flags, (struct sockaddr *)&ext->addr,
                         &ext->addr_len, &op->ov, NULL) == 0;
        break;
    default: return IOCPH_E_INVALID_ARGUMENT;
    }
    if (rc < 0)
        return rc;
    if (ok) {
        /* Without skip-on-success the packet is queued all the same. */
        *error = skip_on_success ? 0 : ERROR_IO_PENDING;
        return IOCPH_OK;
    }
    *error = (DWORD)WSAGetLastError(); /* WSA_IO_PENDING == ERROR_IO_PENDING */
    if (*error != ERROR_IO_PENDING && !skip_on_success &&
        packet_queued_after_error(op, generation, kind))
        *error = ERROR_IO_PENDING; /* finished, but its packet is queued: see the top */
    return IOCPH_OK;
}

/* A synchronous outcome travels as a KEY_IO packet with a clean OVERLAPPED (Internal 0: the
 * dequeuer takes op->backend_error instead of asking the OS). */
static int32_t post_sync(iocph__op *op, DWORD error, DWORD bytes)
{
    op->backend_error = (int32_t)error;
    op->ov.Internal = 0;
    op->ov.InternalHigh = bytes;
    /* The I/O happened (or failed for good): its outcome must arrive, never a refusal. */
    return iocph__win_post_done(op, bytes, IOCPH__WIN_KEY_IO);
}

/* Whether the op's timer fired (an op without a socket block has none). */
static bool timed_out(iocph__op *op)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    return ext && atomic_load_explicit(&ext->timed_out, memory_order_seq_cst);
}

static bool stop_requested_locked(iocph__op *op)
{
    return iocph__win_cancel_requested_locked(op) || timed_out(op);
}

/* After an I/O went pending: a cancel or a timer that came while it was being issued found no
 * I/O to cancel. The packet may already have been dequeued elsewhere and the op reused: only a
 * live op of the same generation and kind is touched. */
static void recheck_pending(iocph__op *op, SOCKET s, uint32_t generation, uint32_t kind)
{
    iocph__spin_lock(&op->lock);
    if (atomic_load_explicit(&op->generation, memory_order_relaxed) == generation &&
        op->kind == kind && stop_requested_locked(op))
        CancelIoEx((HANDLE)s, &op->ov);
    iocph__spin_unlock(&op->lock);
}

static void close_accept_socket(iocph__win_sock_ext *ext)
{
    if (ext->accept_socket != INVALID_SOCKET)
        closesocket(ext->accept_socket);
    ext->accept_socket = INVALID_SOCKET;
}

int32_t iocph__win_sock_submit(iocph__op *op)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op); /* NULL: a wait for data, no timeout */
    if (ext)
        ext->accept_socket = INVALID_SOCKET;
    /* progress shares its memory with a connect's or send-to's endpoint and an accept's
     * result pointer (iocph__op_socket): only a send may reset it. */
    if (op->kind == IOCPH__OP_SEND)
        op->sock->progress = 0;
    int32_t rc = iocph__win_timer_arm(op);
    if (rc < 0)
        return rc;
    SOCKET s = os_socket(op);
    uint32_t generation = atomic_load_explicit(&op->generation, memory_order_relaxed);
    uint32_t kind = op->kind;
    DWORD error, bytes;
    rc = issue(op, &error, &bytes);
    if (rc == IOCPH_OK && error == ERROR_IO_PENDING) {
        recheck_pending(op, s, generation, kind);
        return IOCPH_OK;
    }
    if (rc == IOCPH_OK)
        rc = post_sync(op, error, bytes);
    if (rc == IOCPH_OK)
        return IOCPH_OK; /* the op may already be finished and reused: not touched again */
    /* Refused: nothing reached the port, so nothing will finish the op but the caller. */
    iocph__win_timer_disarm(op);
    if (ext)
        close_accept_socket(ext);
    return rc;
}

/* The accepted socket becomes a handle: it inherits the listener's properties, its peer comes
 * from the AcceptEx buffer. Returns the accept's result. */
static int64_t finish_accept(iocph__op *op, int32_t *os_error)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    SOCKET listener = os_socket(op);
    SOCKET accepted = ext->accept_socket;
    ext->accept_socket = INVALID_SOCKET;
    DWORD error = 0;
    LPFN_GETACCEPTEXSOCKADDRS sockaddrs = iocph__win_get_accept_ex_sockaddrs(listener, &error);
    if (sockaddrs &&
        setsockopt(accepted, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, (const char *)&listener,
                   (int)sizeof listener) != 0)
        error = (DWORD)WSAGetLastError();
    if (error) {
        closesocket(accepted);
        *os_error = (int32_t)error;
        return iocph__map_win32(error);
    }
    struct sockaddr *local, *remote;
    int local_len, remote_len;
    sockaddrs(ext->accept_buf, 0, ACCEPT_ADDR_LEN, ACCEPT_ADDR_LEN, &local, &local_len, &remote,
              &remote_len);
    return iocph__accept_publish(op, (intptr_t)accepted, remote, remote_len);
}

static int64_t finish_connect(iocph__op *op, int32_t *os_error)
{
    /* Makes getpeername, shutdown and SO_* options work on the connected socket. */
    if (setsockopt(os_socket(op), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT, NULL, 0) != 0) {
        DWORD error = (DWORD)WSAGetLastError();
        *os_error = (int32_t)error;
        return iocph__map_win32(error);
    }
    return 0;
}

static bool is_abort(DWORD error)
{
    /* 995 on Windows (WSA_OPERATION_ABORTED is the same value); 676 when Wine aborts I/O because
     * the socket was closed; WSAEINTR from a cancelled blocking-style call. */
    return error == ERROR_OPERATION_ABORTED || error == ERROR_HANDLES_CLOSED || error == WSAEINTR;
}

/* Sends continue until every byte is out: issues the next chunks while they finish at once.
 * Returns true when a packet will follow, false when *error / *bytes are final. */
static bool continue_send(iocph__op *op, DWORD *error, DWORD *bytes, uint64_t total)
{
    while (*error == 0 && *bytes > 0) {
        op->sock->progress += *bytes;
        if (op->sock->progress >= total)
            return false;
        iocph__spin_lock(&op->lock);
        bool stop = stop_requested_locked(op);
        iocph__spin_unlock(&op->lock);
        if (stop) {
            *error = ERROR_OPERATION_ABORTED; /* the timer's flag still says which */
            return false;
        }
        SOCKET s = os_socket(op);
        uint32_t generation = atomic_load_explicit(&op->generation, memory_order_relaxed);
        if (issue(op, error, bytes) < 0) /* a send refuses nothing before its WSASend */
            *error = ERROR_INVALID_PARAMETER;
        if (*error == ERROR_IO_PENDING) {
            recheck_pending(op, s, generation, IOCPH__OP_SEND);
            return true;
        }
    }
    return false;
}

uint32_t iocph__win_sock_packet(iocph__op *op, DWORD error, DWORD bytes,
                                iocph_completion *entry)
{
    iocph__win_sock_ext *ext = iocph__win_ext(op);
    int64_t result = bytes;
    if (op->kind == IOCPH__OP_SEND) {
        uint64_t total = send_total(op->sock);
        if (continue_send(op, &error, &bytes, total))
            return 0;
        result = (int64_t)op->sock->progress;
    }
    /* From here on nothing re-issues the op: its timer goes, and with it the last thread that
     * could touch the op besides this one. */
    iocph__win_timer_disarm(op);

    bool truncated = false;
    if (op->kind == IOCPH__OP_RECEIVE_FROM && (error == WSAEMSGSIZE || error == ERROR_MORE_DATA)) {
        truncated = true; /* the buffer is full, the rest of the datagram is gone */
        error = 0;
        result = op->length;
    }
    int32_t os_error = 0;
    if (error) {
        os_error = (int32_t)error;
        if (is_abort(error))
            result = timed_out(op) ? IOCPH_E_TIMEOUT : IOCPH_E_CANCELED;
        else
            result = iocph__map_win32(error);
        if (op->kind == IOCPH__OP_ACCEPT)
            close_accept_socket(ext);
    } else {
        switch (op->kind) {
        case IOCPH__OP_ACCEPT: result = finish_accept(op, &os_error); break;
        case IOCPH__OP_CONNECT: result = finish_connect(op, &os_error); break;
        case IOCPH__OP_RECEIVE_FROM:
            if (op->sock->endpoint_out &&
                iocph__endpoint_from_sockaddr(&ext->addr, ext->addr_len, op->sock->endpoint_out) < 0)
                memset(op->sock->endpoint_out, 0, sizeof *op->sock->endpoint_out);
            break;
        default: break;
        }
    }
    if (truncated)
        op->completion_flags |= IOCPH_COMPLETION_TRUNCATED;
    iocph__op_finish(op, result, os_error, entry);
    return 1;
}
