/*
 * epoll_io.c - one nonblocking attempt at the operation at the head of a lane: the system call
 * itself, and what its answer means. EAGAIN means "wait for the next readiness edge"
 * (IOCPH__EPOLL_WAIT); anything else finishes the operation. Called on the owning worker only,
 * so iovecs and addresses live on the stack: the kernel is done with them when the call returns.
 */
#include "epoll_internal.h"
#include "linux_os.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int done(int64_t value, int32_t error, int64_t *result, int32_t *os_error)
{
    *result = value;
    *os_error = error;
    return IOCPH__EPOLL_DONE;
}

/* A failed call: wait on EAGAIN, else finish with the error. */
static int failed(int error, int64_t *result, int32_t *os_error)
{
    if (error == EAGAIN || error == EWOULDBLOCK)
        return IOCPH__EPOLL_WAIT;
    return done(iocph__map_errno(error), error, result, os_error);
}

/* Sends until every byte is out (op->length in all), continuing from *progress. s: the socket
 * block of a TCP send (its buffers), NULL for a pipe write (op->buffer). */
static int send_all(int fd, iocph__op *op, const iocph__op_socket *s, uint64_t *progress,
                    int64_t *result, int32_t *os_error)
{
    while (*progress < op->length) {
        ssize_t n;
        if (s && s->buffer_count > 1) {
            struct iovec iov[IOCPH_MAX_BUFFERS];
            struct msghdr msg = {0};
            msg.msg_iov = iov;
            msg.msg_iovlen = iocph__linux_fill_iov(s, *progress, iov);
            n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else if (!s && op->handle->os_pipe) {
            /* A pipe fd the caller associated (nonblocking): EPIPE raises SIGPIPE at this
             * worker, which blocks it (common/sync.c). */
            n = write(fd, op->buffer + *progress, (size_t)(op->length - *progress));
        } else {
            const uint8_t *base = s ? (const uint8_t *)iocph__op_buffers(s)[0].data : op->buffer;
            n = send(fd, base + *progress, (size_t)(op->length - *progress),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return failed(errno, result, os_error);
        }
        *progress += (uint64_t)n;
    }
    return done((int64_t)*progress, 0, result, os_error);
}

/* One receive; s as for send_all (a wait for data without a timeout has none either). */
static int receive(int fd, iocph__op *op, const iocph__op_socket *s, int64_t *result,
                   int32_t *os_error)
{
    for (;;) {
        ssize_t n;
        if (iocph__op_waits_for_data(op)) {
            /* Peek: a byte or the end of the stream both complete the wait with 0. */
            n = recv(fd, &op->value, 1, MSG_DONTWAIT | MSG_PEEK);
            if (n > 0)
                n = 0;
        } else if (s && s->buffer_count > 1) {
            struct iovec iov[IOCPH_MAX_BUFFERS];
            struct msghdr msg = {0};
            msg.msg_iov = iov;
            msg.msg_iovlen = iocph__linux_fill_iov(s, 0, iov);
            n = recvmsg(fd, &msg, MSG_DONTWAIT);
        } else if (s) {
            n = recv(fd, iocph__op_buffers(s)[0].data, iocph__op_buffers(s)[0].length, MSG_DONTWAIT);
        } else if (op->handle->os_pipe) {
            n = read(fd, op->buffer, op->length); /* a pipe fd, nonblocking */
        } else {
            n = recv(fd, op->buffer, op->length, MSG_DONTWAIT);
        }
        if (n >= 0)
            return done(n, 0, result, os_error);
        if (errno != EINTR)
            return failed(errno, result, os_error);
    }
}

static int accept_one(int fd, iocph__op *op, int64_t *result, int32_t *os_error)
{
    struct sockaddr_storage peer;
    int len = (int)sizeof peer;
    int s = iocph__linux_accept(fd, true, &peer, &len);
    if (s < 0)
        return failed(-s, result, os_error);
    return done(iocph__accept_publish(op, s, &peer, len), 0, result, os_error);
}

static int connect_step(int fd, iocph__op *op, int64_t *result, int32_t *os_error)
{
    iocph__epoll_sock_ext *ext = iocph__epoll_ext(op);
    if (!ext->connecting) {
        struct sockaddr_storage ss;
        int len = iocph__endpoint_to_sockaddr(&op->sock->endpoint, &ss, (int)sizeof ss);
        if (connect(fd, (struct sockaddr *)&ss, (socklen_t)len) == 0)
            return done(0, 0, result, os_error);
        if (errno != EINPROGRESS && errno != EINTR)
            return done(iocph__map_errno(errno), errno, result, os_error);
        ext->connecting = true;
        return IOCPH__EPOLL_WAIT;
    }
    /* Woken: finished if it failed (SO_ERROR) or has a peer; an early edge (the socket's state
     * before the SYN was sent) leaves it still in progress. */
    int error = 0;
    socklen_t elen = (socklen_t)sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) != 0)
        error = errno;
    if (error != 0)
        return done(iocph__map_errno(error), error, result, os_error);
    struct sockaddr_storage peer;
    socklen_t plen = (socklen_t)sizeof peer;
    if (getpeername(fd, (struct sockaddr *)&peer, &plen) == 0)
        return done(0, 0, result, os_error);
    return errno == ENOTCONN ? IOCPH__EPOLL_WAIT : done(iocph__map_errno(errno), errno, result, os_error);
}

static int send_to(int fd, iocph__op *op, int64_t *result, int32_t *os_error)
{
    struct sockaddr_storage ss;
    int len = iocph__endpoint_to_sockaddr(&op->sock->endpoint, &ss, (int)sizeof ss);
    for (;;) {
        ssize_t n = sendto(fd, op->buffer, op->length, MSG_NOSIGNAL | MSG_DONTWAIT,
                           (struct sockaddr *)&ss, (socklen_t)len);
        if (n >= 0)
            return done(n, 0, result, os_error);
        if (errno != EINTR)
            return failed(errno, result, os_error);
    }
}

static int receive_from(int fd, iocph__op *op, int64_t *result, int32_t *os_error)
{
    struct sockaddr_storage from;
    struct iovec iov = {op->buffer, op->length};
    struct msghdr msg = {0};
    for (;;) {
        memset(&from, 0, sizeof from);
        msg.msg_name = &from;
        msg.msg_namelen = (socklen_t)sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        /* MSG_TRUNC: the result is the datagram's real length, so a truncation shows. */
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return failed(errno, result, os_error);
        }
        if ((size_t)n > op->length || (msg.msg_flags & MSG_TRUNC)) {
            op->completion_flags |= IOCPH_COMPLETION_TRUNCATED;
            if ((size_t)n > op->length)
                n = (ssize_t)op->length;
        }
        if (op->sock->endpoint_out &&
            iocph__endpoint_from_sockaddr(&from, (int)msg.msg_namelen, op->sock->endpoint_out) < 0)
            memset(op->sock->endpoint_out, 0, sizeof *op->sock->endpoint_out);
        return done(n, 0, result, os_error);
    }
}

int iocph__epoll_attempt(iocph__op *op, int64_t *result, int32_t *os_error)
{
    int fd = (int)op->handle->os;
    switch (op->kind) {
    case IOCPH__OP_PIPE_READ: {
        int r = receive(fd, op, NULL, result, os_error);
        if (r == IOCPH__EPOLL_DONE)
            *result = iocph__pipe_result(*result);
        return r;
    }
    case IOCPH__OP_RECEIVE:
        return receive(fd, op, op->sock, result, os_error);
    case IOCPH__OP_PIPE_WRITE: {
        uint64_t progress = (uint64_t)op->value;
        int r = send_all(fd, op, NULL, &progress, result, os_error);
        op->value = (int64_t)progress;
        if (r == IOCPH__EPOLL_DONE)
            *result = iocph__pipe_result(*result);
        return r;
    }
    case IOCPH__OP_SEND:
        return send_all(fd, op, op->sock, &op->sock->progress, result, os_error);
    case IOCPH__OP_ACCEPT:
        return accept_one(fd, op, result, os_error);
    case IOCPH__OP_CONNECT:
        return connect_step(fd, op, result, os_error);
    case IOCPH__OP_SEND_TO:
        return send_to(fd, op, result, os_error);
    case IOCPH__OP_RECEIVE_FROM:
        return receive_from(fd, op, result, os_error);
    default:
        return done(IOCPH_E_INVALID_ARGUMENT, 0, result, os_error);
    }
}
