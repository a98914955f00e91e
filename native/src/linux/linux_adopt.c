/*
 * linux_adopt.c - iocph_handle_associate on Linux, for both Linux backends: what an fd is
 * (fstat, SO_TYPE, SO_ACCEPTCONN, getpeername), its duplicate, and the O_NONBLOCK mode the
 * backend needs. Nothing is changed before every check has passed.
 */
#include "linux_os.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Registry identities (api_associate.c): a socket, or one direction of a pipe/FIFO, is one
 * kernel object whatever fd names it (st_dev, st_ino); a file is only known by its fd. */
enum { ID_FILE_FD = 1, ID_SOCKET = 2, ID_PIPE_READ = 3, ID_PIPE_WRITE = 4 };

static void set_identity(iocph__adopt *a, int tag, const struct stat *st, int fd)
{
    a->identity[0] = ((uint64_t)st->st_dev << 3) | (uint64_t)tag;
    a->identity[1] = tag == ID_FILE_FD ? (uint64_t)fd : (uint64_t)st->st_ino;
}

static int sock_int(int fd, int level, int name, int *value)
{
    socklen_t len = (socklen_t)sizeof *value;
    return getsockopt(fd, level, name, value, &len);
}

/* The address family of an IP socket as iocph_address_family, or 0 for any other. */
static uint32_t ip_family(int fd)
{
    int domain = 0;
    if (sock_int(fd, SOL_SOCKET, SO_DOMAIN, &domain) != 0)
        return 0;
    return domain == AF_INET ? IOCPH_AF_INET : domain == AF_INET6 ? IOCPH_AF_INET6 : 0;
}

static int32_t check_socket(int fd, uint32_t kind, iocph__adopt *a)
{
    int type = 0, listening = 0;
    if (sock_int(fd, SOL_SOCKET, SO_TYPE, &type) != 0 ||
        sock_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening) != 0)
        return iocph__map_errno(errno);
    uint32_t family = ip_family(fd);
    switch (kind) {
    case IOCPH__KIND_TCP_LISTENER:
        if (type != SOCK_STREAM || !family || !listening)
            return IOCPH_E_WRONG_KIND;
        break;
    case IOCPH__KIND_TCP: {
        if (type != SOCK_STREAM || !family || listening)
            return IOCPH_E_WRONG_KIND;
        struct sockaddr_storage peer;
        socklen_t len = (socklen_t)sizeof peer;
        if (getpeername(fd, (struct sockaddr *)&peer, &len) != 0)
            return errno == ENOTCONN ? IOCPH_E_NOT_CONNECTED : iocph__map_errno(errno);
        break;
    }
    case IOCPH__KIND_UDP:
        if (type != SOCK_DGRAM || !family)
            return IOCPH_E_WRONG_KIND;
        break;
    default: /* a pipe end: any connected stream socket, as the library's own socket pairs */
        if (type != SOCK_STREAM || listening)
            return IOCPH_E_WRONG_KIND;
        a->flags = kind == IOCPH__KIND_PIPE_READ ? IOCPH_FILE_READ : IOCPH_FILE_WRITE;
        return IOCPH_OK;
    }
    a->flags = family;
    return IOCPH_OK;
}

/* What the fd's access mode, O_APPEND and O_DIRECT mean as iocph_file_flags. */
static uint32_t file_flags(int fl)
{
    uint32_t flags = 0;
    int mode = fl & O_ACCMODE;
    if (mode == O_RDONLY || mode == O_RDWR)
        flags |= IOCPH_FILE_READ;
    if (mode == O_WRONLY || mode == O_RDWR)
        flags |= IOCPH_FILE_WRITE;
    if (fl & O_APPEND)
        flags |= IOCPH_FILE_APPEND;
    if (fl & O_DIRECT)
        flags |= IOCPH_FILE_UNBUFFERED;
    return flags;
}

/* Checks fd for kind without changing anything; fills a->flags, os_pipe and identity. */
static int32_t inspect(int fd, uint32_t kind, int fl, iocph__adopt *a)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno == EBADF ? IOCPH_E_BADHANDLE : iocph__map_errno(errno);
    if (fl & O_PATH)
        return IOCPH_E_WRONG_KIND; /* a path reference, not an open file */
    bool socket_fd = S_ISSOCK(st.st_mode);
    if (kind == IOCPH__KIND_FILE) {
        if (S_ISDIR(st.st_mode))
            return IOCPH_E_IS_DIRECTORY;
        if (socket_fd)
            return IOCPH_E_WRONG_KIND;
        a->flags = file_flags(fl);
        set_identity(a, ID_FILE_FD, &st, fd);
        return a->flags & (IOCPH_FILE_READ | IOCPH_FILE_WRITE) ? IOCPH_OK : IOCPH_E_ACCESS_DENIED;
    }
    if (kind == IOCPH__KIND_PIPE_READ || kind == IOCPH__KIND_PIPE_WRITE) {
        if (S_ISFIFO(st.st_mode)) {
            uint32_t needed = kind == IOCPH__KIND_PIPE_READ ? IOCPH_FILE_READ : IOCPH_FILE_WRITE;
            if (!(file_flags(fl) & needed))
                return IOCPH_E_ACCESS_DENIED;
            a->flags = needed;
            a->os_pipe = true;
            set_identity(a, kind == IOCPH__KIND_PIPE_READ ? ID_PIPE_READ : ID_PIPE_WRITE, &st, fd);
            return IOCPH_OK;
        }
        if (!socket_fd)
            return IOCPH_E_WRONG_KIND;
    } else if (!socket_fd) {
        return IOCPH_E_WRONG_KIND;
    }
    set_identity(a, ID_SOCKET, &st, fd);
    return check_socket(fd, kind, a);
}

int32_t iocph__linux_handle_adopt(uint32_t kind, intptr_t os, bool duplicate, bool nonblocking,
                                  iocph__adopt *a)
{
    int fd = (int)os;
    if ((intptr_t)fd != os)
        return IOCPH_E_BADHANDLE;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return errno == EBADF ? IOCPH_E_BADHANDLE : iocph__map_errno(errno);
    int32_t rc = inspect(fd, kind, fl, a);
    if (rc < 0)
        return rc;
    int owned = fd;
    if (duplicate) {
        owned = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (owned < 0)
            return iocph__map_errno(errno);
        a->duplicated = true;
        if ((a->identity[0] & 7) == ID_FILE_FD)
            a->identity[1] = (uint64_t)owned; /* the fd the library will hold */
    }
    /* Files are read and written by blocking calls (epoll's pool threads) or by io_uring, which
     * fails I/O on O_NONBLOCK files with -EAGAIN; pipes and sockets are driven by readiness on
     * epoll (nonblocking) and polled by io_uring itself (blocking, as the library's own, but
     * for listeners: the caller says which with `nonblocking`). */
    bool want = kind != IOCPH__KIND_FILE && nonblocking;
    if (((fl & O_NONBLOCK) != 0) != want) {
        if (fcntl(owned, F_SETFL, want ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)) != 0) {
            int err = errno;
            if (a->duplicated)
                close(owned);
            return iocph__map_errno(err);
        }
        a->restore_flags = fl;
    }
    a->os = owned;
    return IOCPH_OK;
}

void iocph__linux_handle_unadopt(const iocph__adopt *a)
{
    if (a->restore_flags >= 0)
        fcntl((int)a->os, F_SETFL, a->restore_flags);
    if (a->duplicated)
        close((int)a->os);
}
