/* Immediate attempts on Linux: one nonblocking system call on the caller's thread (both Linux
 * backends); and the iovecs both build for gather sends and scatter receives. */
/* _GNU_SOURCE (preadv2, RWF_NOWAIT) comes from the build. */
#include "linux_os.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

static int32_t failed(int error)
{
    /* EOPNOTSUPP: a file system without nonblocking reads; it would have to wait. */
    return error == EAGAIN || error == EWOULDBLOCK || error == EOPNOTSUPP ? IOCPH_E_WOULD_BLOCK
                                                                          : iocph__map_errno(error);
}

/* All of [offset, offset + length) from the page cache, or WOULD_BLOCK. A short RWF_NOWAIT read
 * means "only part is cached" or "end of file": ask again for the rest to tell which. */
static int32_t try_read(int fd, uint8_t *buffer, uint32_t length, uint64_t offset, uint32_t *done)
{
    uint32_t got = 0;
    while (got < length) {
        struct iovec iov = {buffer + got, length - got};
        ssize_t n = preadv2(fd, &iov, 1, (off_t)(offset + got), RWF_NOWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return failed(errno);
        }
        if (n == 0)
            break; /* end of file */
        got += (uint32_t)n;
    }
    *done = got;
    return IOCPH_OK;
}

int32_t iocph__linux_try_io(iocph__handle *handle, int op_kind, void *buffer, uint32_t length,
                            uint64_t offset, uint32_t *done)
{
    int fd = (int)handle->os;
    if (op_kind == IOCPH__OP_READ)
        return try_read(fd, (uint8_t *)buffer, length, offset, done);
    ssize_t n;
    do {
        n = op_kind == IOCPH__OP_SEND ? send(fd, buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL)
                                      : recv(fd, buffer, length, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return failed(errno);
    *done = (uint32_t)n;
    return IOCPH_OK;
}

int iocph__linux_accept(int listener_fd, bool nonblocking, void *sockaddr, int *sockaddr_len)
{
    int flags = SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0);
    for (;;) {
        socklen_t len = (socklen_t)*sockaddr_len;
        int s = accept4(listener_fd, (struct sockaddr *)sockaddr, &len, flags);
        if (s >= 0) {
            *sockaddr_len = (int)len;
            return s;
        }
        if (errno != EINTR && errno != ECONNABORTED)
            return -errno;
    }
}

int32_t iocph__linux_try_accept(iocph__handle *listener, bool nonblocking, intptr_t *os,
                                void *sockaddr, int *sockaddr_len)
{
    int s = iocph__linux_accept((int)listener->os, nonblocking, sockaddr, sockaddr_len);
    if (s < 0)
        return failed(-s);
    *os = s;
    return IOCPH_OK;
}

unsigned iocph__linux_fill_iov(const iocph__op_socket *s, uint64_t skip, struct iovec *iov)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < s->buffer_count; i++) {
        uint64_t len = iocph__op_buffers(s)[i].length;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        iov[n].iov_base = (uint8_t *)iocph__op_buffers(s)[i].data + skip;
        iov[n].iov_len = (size_t)(len - skip);
        skip = 0;
        n++;
    }
    return n;
}
