/*
 * uring_sock.c - socket operations on io_uring: what each SQE looks like and what its CQE
 * means. The control flow (lanes, cancellation, the two CQEs of an op with a timeout) is in
 * uring_loop.c.
 *
 * Timeouts: the op's SQE carries IOSQE_IO_LINK and is followed by an IORING_OP_LINK_TIMEOUT
 * whose user_data is the op pointer tagged IOCPH__URING_TAG_TIMEOUT. Both CQEs always arrive, in
 * either order; the op is finished only when both are in, since the kernel may still touch the
 * op's ext until then. A fired timeout shows as -ETIME on its own CQE and -ECANCELED on the op.
 * The deadline is taken when the operation is started, so time spent queued behind another
 * send or receive of the same socket counts, and a resubmitted short send gets what is left.
 */
#include "linux_os.h"
#include "uring_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int32_t iocph__uring_socket_create(iocph__port *port, uint32_t kind, int family, intptr_t *os)
{
    (void)port;
    /* Blocking: io_uring polls the socket itself; on an O_NONBLOCK one a receive or send could
     * fail with -EAGAIN instead of waiting. Listeners are the exception (uring_try.c): an
     * immediate accept needs a nonblocking one, and io_uring's accept arms its poll on either
     * (an -EAGAIN it might still return is retried: iocph__uring_sock_result). */
    return iocph__linux_socket_create(kind, family, kind == IOCPH__KIND_TCP_LISTENER, os);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One-buffer sends and receives go straight to IORING_OP_SEND / RECV, and accepts ask for the
 * peer afterwards (getpeername): everything else needs an address or a msghdr with iovecs. Why
 * accepts too: a pool slot is reused LIFO, so in a server most slots that come to hold an idle
 * connection's receive served an accept just before; with the peer address in the wide block
 * they would all carry one. Measured, 10,000 idle connections with a receive pending on each
 * (./build.sh bench --filter "5. Idle"), resident bytes per connection, C server / C# server:
 * one 800-byte socket block per slot 5,324 / 6,291; the wide block apart, accepts using it
 * 5,136 / 6,194; accepts without it 4,876 / 5,756 (the epoll floor: 4,138). */
static bool needs_wide(const iocph__op *op)
{
    switch (op->kind) {
    case IOCPH__OP_ACCEPT:
        return false;
    case IOCPH__OP_SEND:
    case IOCPH__OP_RECEIVE:
        return op->sock && op->sock->buffer_count > 1; /* no block: a wait for data */
    default:
        return true;
    }
}

static iocph__uring_sock_wide *wide_of(iocph__op *op)
{
    return op->sock ? (iocph__uring_sock_wide *)op->sock->backend_extra : NULL;
}

/* A socket op's deadline: CLOCK_MONOTONIC ns, 0 = no timeout. Kept in op->offset, which only
 * file ops use (see iocph__uring_sock_ext). */
static uint64_t *deadline_of(iocph__op *op)
{
    return &op->offset;
}

int32_t iocph__uring_sock_begin(iocph__op *op)
{
    if (!op->sock) {
        *deadline_of(op) = 0; /* a wait for data without a timeout */
        return IOCPH_OK;
    }
    if (needs_wide(op) && !op->sock->backend_extra) {
        /* Only the starting thread touches the op before it is queued: no race here. */
        op->sock->backend_extra = calloc(1, sizeof(iocph__uring_sock_wide));
        if (!op->sock->backend_extra) {
            return IOCPH_E_NOMEM;
        }
    }
    iocph__uring_sock_ext *ext = iocph__uring_ext(op);
    ext->op_in_kernel = false;
    ext->timeout_pending = false;
    ext->timed_out = false;
    ext->op_res = 0;
    uint32_t ms = op->sock->timeout_ms;
    *deadline_of(op) = ms ? now_ns() + (uint64_t)ms * 1000000u : 0;
    return IOCPH_OK;
}

static unsigned fill_iov(iocph__op *op, iocph__uring_sock_wide *w, uint64_t skip)
{
    return iocph__linux_fill_iov(op->sock, skip, w->iov);
}

static void set_msg(iocph__uring_sock_wide *w, unsigned iov_count, bool with_name,
                    socklen_t name_len)
{
    memset(&w->msg, 0, sizeof w->msg);
    w->msg.msg_iov = w->iov;
    w->msg.msg_iovlen = iov_count;
    if (with_name) {
        w->msg.msg_name = &w->addr;
        w->msg.msg_namelen = name_len;
    }
}

/* An accepted socket and its peer. A peer that reset the connection before getpeername leaves
 * the endpoint zeroed (iocph__accept_publish); the socket is still handed over and reports the
 * reset on its first operation. */
static int64_t accept_with_peer(iocph__op *op, int socket_fd)
{
    struct sockaddr_storage peer;
    socklen_t len = (socklen_t)sizeof peer;
    if (getpeername(socket_fd, (struct sockaddr *)&peer, &len) < 0) {
        len = 0;
    }
    return iocph__accept_publish(op, socket_fd, &peer, (int)len);
}

void iocph__uring_sock_prep(iocph__uring_ring *ring, iocph__op *op)
{
    iocph__uring_sock_ext *ext = iocph__uring_ext(op);
    iocph__uring_sock_wide *w = wide_of(op); /* NULL for one-buffer sends and receives */
    iocph__op_socket *s = op->sock;
    int fd = (int)op->handle->os;
    uint64_t deadline = *deadline_of(op);
    bool timed = deadline != 0;
    iocph__uring_reserve_sqes(ring, timed ? 2u : 1u);
    struct io_uring_sqe *sqe = iocph__uring_get_sqe(ring);
    switch (op->kind) {
    case IOCPH__OP_ACCEPT:
        io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC); /* peer: accept_with_peer */
        break;
    case IOCPH__OP_CONNECT: {
        int len = iocph__endpoint_to_sockaddr(&s->endpoint, &w->addr, (int)sizeof w->addr);
        io_uring_prep_connect(sqe, fd, (struct sockaddr *)&w->addr, (socklen_t)len);
        break;
    }
    case IOCPH__OP_SEND: {
        /* MSG_WAITALL: kernels that know it for sends (5.19+) retry short sends themselves;
         * on others a short send is resubmitted (iocph__uring_sock_result). Compat mode leaves
         * it out so that the resubmission path is tested. Never SIGPIPE. */
        int flags = MSG_NOSIGNAL | (ring->owner->compat ? 0 : MSG_WAITALL);
        if (s->buffer_count == 1) {
            io_uring_prep_send(sqe, fd, (uint8_t *)iocph__op_buffers(s)[0].data + s->progress,
                               (size_t)(iocph__op_buffers(s)[0].length - s->progress), flags);
        } else {
            set_msg(w, fill_iov(op, w, s->progress), false, 0);
            io_uring_prep_sendmsg(sqe, fd, &w->msg, flags);
        }
        break;
    }
    case IOCPH__OP_RECEIVE:
        if (iocph__op_waits_for_data(op)) {
            /* The kernel arms its own poll when nothing is there and peeks when data comes. */
            io_uring_prep_recv(sqe, fd, &op->value, 1, MSG_PEEK);
        } else if (s->buffer_count == 1) {
            io_uring_prep_recv(sqe, fd, iocph__op_buffers(s)[0].data, iocph__op_buffers(s)[0].length, 0);
        } else {
            set_msg(w, fill_iov(op, w, 0), false, 0);
            io_uring_prep_recvmsg(sqe, fd, &w->msg, 0);
        }
        break;
    case IOCPH__OP_SEND_TO: {
        int len = iocph__endpoint_to_sockaddr(&s->endpoint, &w->addr, (int)sizeof w->addr);
        w->iov[0].iov_base = op->buffer;
        w->iov[0].iov_len = op->length;
        set_msg(w, 1, true, (socklen_t)len);
        io_uring_prep_sendmsg(sqe, fd, &w->msg, MSG_NOSIGNAL);
        break;
    }
    default: /* IOCPH__OP_RECEIVE_FROM */
        memset(&w->addr, 0, sizeof w->addr);
        w->iov[0].iov_base = op->buffer;
        w->iov[0].iov_len = op->length;
        set_msg(w, 1, true, (socklen_t)sizeof w->addr);
        /* MSG_TRUNC: the result is the datagram's real length, so a truncation shows even on
         * kernels that do not copy msg_flags back. */
        io_uring_prep_recvmsg(sqe, fd, &w->msg, MSG_TRUNC);
        break;
    }
    io_uring_sqe_set_data(sqe, op);
    if (!ext)
        return; /* no block: no timeout, and its one CQE settles it */
    ext->op_in_kernel = true;
    if (timed) {
        uint64_t now = now_ns();
        /* At least 1 ns: an expired deadline still goes through the kernel, which then cancels
         * the op at once and reports it like any other timeout. */
        uint64_t left = deadline > now ? deadline - now : 1;
        ext->timeout.tv_sec = (long long)(left / 1000000000u);
        ext->timeout.tv_nsec = (long long)(left % 1000000000u);
        sqe->flags |= IOSQE_IO_LINK;
        struct io_uring_sqe *tsqe = iocph__uring_get_sqe(ring);
        io_uring_prep_link_timeout(tsqe, &ext->timeout, 0);
        io_uring_sqe_set_data64(tsqe, (uint64_t)(uintptr_t)op | IOCPH__URING_TAG_TIMEOUT);
        ext->timeout_pending = true;
    }
}

bool iocph__uring_sock_result(iocph__op *op, int res, bool stop, int64_t *result,
                              int32_t *os_error)
{
    iocph__uring_sock_ext *ext = iocph__uring_ext(op); /* NULL: a wait for data, no timeout */
    iocph__op_socket *s = op->sock;
    bool timed_out = ext && ext->timed_out;
    *os_error = 0;
    if (res == -EAGAIN && op->kind == IOCPH__OP_ACCEPT && !stop && !timed_out) {
        return false; /* a nonblocking listener's accept that found nothing: wait again */
    }
    if (res < 0) {
        bool cancelled = res == -ECANCELED || res == -EINTR;
        if (cancelled && timed_out) {
            *result = IOCPH_E_TIMEOUT;
            *os_error = ETIMEDOUT;
        } else {
            *result = cancelled ? IOCPH_E_CANCELED : iocph__map_errno(-res);
            *os_error = -res;
        }
        return true;
    }
    switch (op->kind) {
    case IOCPH__OP_ACCEPT:
        /* Also when a cancel or timeout came too late: the connection exists, hand it over. */
        *result = accept_with_peer(op, res);
        return true;
    case IOCPH__OP_CONNECT:
        *result = 0;
        return true;
    case IOCPH__OP_SEND:
        s->progress += (uint64_t)res;
        if (s->progress >= op->length) {
            *result = (int64_t)s->progress;
        } else if (res > 0 && !stop && !timed_out) {
            return false; /* short send: the rest goes out next */
        } else if (timed_out) {
            *result = IOCPH_E_TIMEOUT; /* part went out: the header says treat it as broken */
            *os_error = ETIMEDOUT;
        } else if (stop) {
            *result = IOCPH_E_CANCELED;
        } else {
            *result = IOCPH_E_BROKEN_PIPE; /* 0 bytes taken with data left: can't progress */
            *os_error = EPIPE;
        }
        return true;
    case IOCPH__OP_RECEIVE_FROM: {
        iocph__uring_sock_wide *w = wide_of(op);
        if ((uint32_t)res > op->length || (w->msg.msg_flags & MSG_TRUNC)) {
            op->completion_flags |= IOCPH_COMPLETION_TRUNCATED;
            if ((uint32_t)res > op->length)
                res = (int)op->length;
        }
        if (s->endpoint_out &&
            iocph__endpoint_from_sockaddr(&w->addr, (int)sizeof w->addr, s->endpoint_out) < 0)
            memset(s->endpoint_out, 0, sizeof *s->endpoint_out);
        *result = res;
        return true;
    }
    default: /* RECEIVE, SEND_TO */
        /* A wait for data peeked a byte (data is there) or 0 (end of stream): both mean "go
         * and receive", and the byte stays in the socket. */
        *result = iocph__op_waits_for_data(op) ? 0 : res;
        return true;
    }
}
