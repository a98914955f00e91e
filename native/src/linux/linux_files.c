/*
 * linux_files.c - opening files, pipes and sockets on Linux, for both Linux backends.
 */
#include "linux_os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* open(2) says ENOENT both for a missing file and a missing directory on the way; the API
 * tells them apart, so look at the parent. */
static int32_t classify_enoent(const char *path)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        len--; /* "dir/missing/" names missing, not "dir/missing/." */
    }
    const char *slash = NULL;
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '/') {
            slash = path + i;
        }
    }
    if (!slash) {
        return IOCPH_E_FILE_NOT_FOUND; /* relative name in the current directory */
    }
    size_t parent_len = slash == path ? 1 : (size_t)(slash - path);
    char *parent = malloc(parent_len + 1);
    if (!parent) {
        return IOCPH_E_NOMEM;
    }
    memcpy(parent, path, parent_len);
    parent[parent_len] = '\0';
    struct stat st;
    int ok = stat(parent, &st) == 0 && S_ISDIR(st.st_mode);
    free(parent);
    return ok ? IOCPH_E_FILE_NOT_FOUND : IOCPH_E_PATH_NOT_FOUND;
}

int32_t iocph__linux_file_open(const char *path_utf8, uint32_t flags, intptr_t *os)
{
    int oflags = O_CLOEXEC;
    if ((flags & IOCPH_FILE_READ) && (flags & IOCPH_FILE_WRITE)) {
        oflags |= O_RDWR;
    } else if (flags & IOCPH_FILE_WRITE) {
        oflags |= O_WRONLY;
    } else {
        oflags |= O_RDONLY;
    }
    if (flags & IOCPH_FILE_CREATE) {
        oflags |= O_CREAT;
    }
    if (flags & IOCPH_FILE_EXCLUSIVE) {
        oflags |= O_EXCL;
    }
    if (flags & IOCPH_FILE_TRUNCATE) {
        oflags |= O_TRUNC;
    }
    if (flags & IOCPH_FILE_APPEND) {
        oflags |= O_APPEND;
    }
    if (flags & IOCPH_FILE_UNBUFFERED) {
        oflags |= O_DIRECT;
    }
    /* O_NONBLOCK only for the open itself: opening a FIFO must not hang the caller. It is
     * cleared below: io_uring fails I/O on O_NONBLOCK files with -EAGAIN instead of waiting,
     * and epoll's pool threads want a plain blocking read. */
    int fd = open(path_utf8, oflags | O_NONBLOCK, 0666);
    if (fd < 0) {
        int err = errno;
        switch (err) {
        case ENOENT: return classify_enoent(path_utf8);
        case ENOTDIR: return IOCPH_E_PATH_NOT_FOUND;
        case EISDIR: return IOCPH_E_IS_DIRECTORY;
        case EINVAL:
            /* The file system does not do O_DIRECT (tmpfs, some FUSE). */
            if (flags & IOCPH_FILE_UNBUFFERED) {
                return IOCPH_E_UNSUPPORTED;
            }
            return iocph__map_errno(err);
        default: return iocph__map_errno(err);
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return iocph__map_errno(err);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd); /* a read-only open of a directory succeeds on Linux */
        return IOCPH_E_IS_DIRECTORY;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int err = errno;
        close(fd);
        return iocph__map_errno(err);
    }
    *os = fd;
    return IOCPH_OK;
}

int32_t iocph__linux_file_length(iocph__handle *handle, uint64_t *length)
{
    struct stat st;
    if (fstat((int)handle->os, &st) != 0) {
        return iocph__map_errno(errno);
    }
    *length = (uint64_t)st.st_size;
    return IOCPH_OK;
}

/* A socket pair used one way: recv/send give MSG_NOSIGNAL (EPIPE, never SIGPIPE) and a reader
 * that sees 0 when the writer closes. io_uring wants blocking sockets (it polls them itself,
 * while an O_NONBLOCK one would make it fail with -EAGAIN); epoll wants nonblocking ones. */
int32_t iocph__linux_pipe_create(bool nonblocking, intptr_t *read_os, intptr_t *write_os)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0,
                   sv) != 0) {
        return iocph__map_errno(errno);
    }
    /* Shut the unused directions, so that misuse fails instead of blocking. shutdown() of a
     * fresh connected pair can't fail. */
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
    *read_os = sv[0];
    *write_os = sv[1];
    return IOCPH_OK;
}

int32_t iocph__linux_socket_create(uint32_t kind, int family, bool nonblocking, intptr_t *os)
{
    int type = kind == IOCPH__KIND_UDP ? SOCK_DGRAM : SOCK_STREAM;
    int fd = socket(family, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return iocph__map_errno(errno);
    *os = fd;
    return IOCPH_OK;
}
