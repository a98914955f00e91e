/* What both Linux backends (io_uring, epoll) share: opening files, pipes and sockets, and the
 * immediate attempts (iocph_*_try_*). */
#ifndef IOCPH_LINUX_OS_H
#define IOCPH_LINUX_OS_H

#include "internal.h"

#include <stdbool.h>

/* open(2) with the iocph_file_flags (flags already checked); a blocking fd. */
int32_t iocph__linux_file_open(const char *path_utf8, uint32_t flags, intptr_t *os);
int32_t iocph__linux_file_length(iocph__handle *handle, uint64_t *length);
/* A socket pair used one way (read end, write end), close-on-exec. */
int32_t iocph__linux_pipe_create(bool nonblocking, intptr_t *read_os, intptr_t *write_os);
/* An unbound socket for a `kind` (IOCPH__KIND_UDP: datagram, else stream), close-on-exec. */
int32_t iocph__linux_socket_create(uint32_t kind, int family, bool nonblocking, intptr_t *os);
/* accept4 on a nonblocking listener fd, close-on-exec, the new socket nonblocking or not as
 * `nonblocking` says; connections reset while they waited in the backlog are skipped (as libuv
 * and .NET do). The new fd, or -errno (-EAGAIN: none waiting). For epoll's accepts and both
 * backends' immediate ones. */
int iocph__linux_accept(int listener_fd, bool nonblocking, void *sockaddr, int *sockaddr_len);
/* iocph__backend.try_accept for both Linux backends (iocph__linux_accept, errors mapped). */
int32_t iocph__linux_try_accept(iocph__handle *listener, bool nonblocking, intptr_t *os,
                                void *sockaddr, int *sockaddr_len);
/* iocph__backend.handle_adopt / handle_unadopt for both Linux backends: `nonblocking` is the
 * mode the backend wants for pipes and sockets (files are always made blocking). */
int32_t iocph__linux_handle_adopt(uint32_t kind, intptr_t os, bool duplicate, bool nonblocking,
                                  iocph__adopt *adopt);
void iocph__linux_handle_unadopt(const iocph__adopt *adopt);
/* iovecs (IOCPH_MAX_BUFFERS of room) for what is left of a gather/scatter op's buffers after
 * `skip` bytes; returns how many. */
struct iovec;
unsigned iocph__linux_fill_iov(const iocph__op_socket *s, uint64_t skip, struct iovec *iov);

/* One nonblocking read (RWF_NOWAIT), send or receive: iocph__backend.try_io's contract. */
int32_t iocph__linux_try_io(iocph__handle *handle, int op_kind, void *buffer, uint32_t length,
                            uint64_t offset, uint32_t *done);

#endif
