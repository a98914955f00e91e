/* The BSD-socket headers of both OSes in one place, and the few names that differ. Only the
 * common socket files include this (the rest of the core never sees a sockaddr). */
#ifndef IOCPH_SOCK_OS_H
#define IOCPH_SOCK_OS_H

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
typedef SOCKET iocph__sock_t;
typedef int iocph__socklen_t;
#define IOCPH__SHUT_SEND SD_SEND
/* The last socket error as a portable code. */
#define IOCPH__SOCK_ERROR() iocph__map_win32((unsigned long)WSAGetLastError())
#define IOCPH__SOCK_OS_ERROR() ((int)WSAGetLastError())
#else
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
typedef int iocph__sock_t;
typedef socklen_t iocph__socklen_t;
#define IOCPH__SHUT_SEND SHUT_WR
#define IOCPH__SOCK_ERROR() iocph__map_errno(errno)
#define IOCPH__SOCK_OS_ERROR() errno
#endif

#include "internal.h"

/* common/socket_sys.c: the synchronous calls both backends share. os is the socket. */
/* AF_INET / AF_INET6 for an iocph_address_family (0 for anything else). */
int iocph__sock_os_family(uint32_t family);
/* SO_REUSEADDR / IPV6_V6ONLY as asked by iocph_socket_flags, then bind. */
int32_t iocph__sock_bind(intptr_t os, const iocph_endpoint *local, uint32_t flags);
int32_t iocph__sock_listen(intptr_t os, int32_t backlog);
int32_t iocph__sock_shutdown_send(intptr_t os);
int32_t iocph__sock_get_endpoint(intptr_t os, int32_t which, iocph_endpoint *endpoint);
/* Options: option already validated as known; is_tcp tells whether TCP options apply. */
int32_t iocph__sock_set_option(intptr_t os, bool is_tcp, int32_t option, int32_t value);
int32_t iocph__sock_get_option(intptr_t os, bool is_tcp, int32_t option, int32_t *value);

#endif
