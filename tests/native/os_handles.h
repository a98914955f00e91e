/* OS handles made the way a C user makes them, without the library (open / CreateFile, pipe2 /
 * CreateNamedPipe, socket / WSASocket), and blocking I/O on them, for the iocph_handle_associate
 * tests. Values travel as int64_t, the type iocph_handle_associate takes. Include after
 * test_util.h. */
#ifndef IOCPH_OS_HANDLES_H
#define IOCPH_OS_HANDLES_H

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#ifdef _WIN32
typedef SOCKET os_socket;
#define OS_SOCKET(v) ((SOCKET)(v))
#else
typedef int os_socket;
#define OS_SOCKET(v) ((int)(v))
#endif

static inline void os_init(void)
{
#ifdef _WIN32
    WSADATA data;
    CHECK(WSAStartup(MAKEWORD(2, 2), &data) == 0);
#endif
}

/* A file opened for reading and writing (created), for overlapped I/O on Windows unless
 * `synchronous`. */
static inline int64_t os_open_file(const char *path, int synchronous)
{
#ifdef _WIN32
    HANDLE h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_ALWAYS, synchronous ? FILE_ATTRIBUTE_NORMAL : FILE_FLAG_OVERLAPPED,
                           NULL);
    CHECK(h != INVALID_HANDLE_VALUE);
    return (int64_t)(intptr_t)h;
#else
    (void)synchronous;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    return fd;
#endif
}

static inline void os_close(int64_t h)
{
#ifdef _WIN32
    CHECK(CloseHandle((HANDLE)(intptr_t)h));
#else
    CHECK(close((int)h) == 0);
#endif
}

static inline void os_close_socket(int64_t s)
{
#ifdef _WIN32
    CHECK(closesocket(OS_SOCKET(s)) == 0);
#else
    CHECK(close((int)s) == 0);
#endif
}

/* Whether h still names an open handle (the library closes what it owns, never the caller's). */
static inline int os_is_open(int64_t h)
{
#ifdef _WIN32
    DWORD flags;
    return GetHandleInformation((HANDLE)(intptr_t)h, &flags) != 0;
#else
    return fcntl((int)h, F_GETFD) >= 0;
#endif
}

/* A pipe as the platform's users make one: Linux pipe (blocking); Windows a named pipe whose
 * server end (*read_end, inbound) is overlapped when `overlapped` and whose client end
 * (*write_end) is a plain synchronous handle. */
static inline void os_pipe(int64_t *read_end, int64_t *write_end, int overlapped)
{
#ifdef _WIN32
    static unsigned counter;
    char name[96];
    snprintf(name, sizeof name, "\\\\.\\pipe\\iocph-test-%lu-%u", (unsigned long)GetCurrentProcessId(),
             counter++);
    HANDLE server = CreateNamedPipeA(name, PIPE_ACCESS_INBOUND | (overlapped ? FILE_FLAG_OVERLAPPED : 0),
                                     PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 65536,
                                     65536, 0, NULL);
    CHECK(server != INVALID_HANDLE_VALUE);
    HANDLE client = CreateFileA(name, GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(client != INVALID_HANDLE_VALUE);
    *read_end = (int64_t)(intptr_t)server;
    *write_end = (int64_t)(intptr_t)client;
#else
    (void)overlapped;
    int fds[2];
    CHECK(pipe(fds) == 0); /* what pipe2 / .NET's anonymous pipes make, flags aside */
    *read_end = fds[0];
    *write_end = fds[1];
#endif
}

/* The reverse direction: *write_end overlapped (Windows: an outbound server end), *read_end a
 * plain handle. */
static inline void os_pipe_out(int64_t *read_end, int64_t *write_end)
{
#ifdef _WIN32
    static unsigned counter;
    char name[96];
    snprintf(name, sizeof name, "\\\\.\\pipe\\iocph-test-out-%lu-%u",
             (unsigned long)GetCurrentProcessId(), counter++);
    HANDLE server = CreateNamedPipeA(name, PIPE_ACCESS_OUTBOUND | FILE_FLAG_OVERLAPPED,
                                     PIPE_TYPE_BYTE | PIPE_WAIT, 1, 65536, 65536, 0, NULL);
    CHECK(server != INVALID_HANDLE_VALUE);
    HANDLE client = CreateFileA(name, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
    CHECK(client != INVALID_HANDLE_VALUE);
    *write_end = (int64_t)(intptr_t)server;
    *read_end = (int64_t)(intptr_t)client;
#else
    os_pipe(read_end, write_end, 1);
#endif
}

/* Blocking read of 1..len bytes / write of all len bytes on a plain pipe end. */
static inline int64_t os_read(int64_t h, void *buf, uint32_t len)
{
#ifdef _WIN32
    DWORD n = 0;
    if (!ReadFile((HANDLE)(intptr_t)h, buf, len, &n, NULL))
        return -1;
    return n;
#else
    return read((int)h, buf, len);
#endif
}

static inline void os_write(int64_t h, const void *buf, uint32_t len)
{
#ifdef _WIN32
    DWORD n = 0;
    CHECK(WriteFile((HANDLE)(intptr_t)h, buf, len, &n, NULL) && n == len);
#else
    CHECK(write((int)h, buf, len) == (ssize_t)len);
#endif
}

/* ---- sockets (IPv4 loopback) ---- */

static inline os_socket os_socket_new(int type, int nonblocking)
{
#ifdef _WIN32
    (void)nonblocking;
    /* socket() makes overlapped sockets on Windows (WSA_FLAG_OVERLAPPED). */
    SOCKET s = socket(AF_INET, type, 0);
    CHECK(s != INVALID_SOCKET);
    return s;
#else
    int s = socket(AF_INET, type | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    CHECK(s >= 0);
    return s;
#endif
}

static inline void os_loopback(struct sockaddr_in *a, uint16_t port)
{
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* Binds s to 127.0.0.1 on a port the system picks; returns that port. */
static inline uint16_t os_bind_loopback(os_socket s)
{
    struct sockaddr_in a;
    os_loopback(&a, 0);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t len = (socklen_t)sizeof a;
    CHECK(getsockname(s, (struct sockaddr *)&a, &len) == 0);
    return ntohs(a.sin_port);
}

static inline os_socket os_tcp_listener(uint16_t *port)
{
    os_socket s = os_socket_new(SOCK_STREAM, 0);
    *port = os_bind_loopback(s);
    CHECK(listen(s, 16) == 0);
    return s;
}

/* A blocking connect to 127.0.0.1:port (the listener's backlog takes it at once). */
static inline os_socket os_tcp_connect(uint16_t port)
{
    os_socket s = os_socket_new(SOCK_STREAM, 0);
    struct sockaddr_in a;
    os_loopback(&a, port);
    CHECK(connect(s, (struct sockaddr *)&a, sizeof a) == 0);
    return s;
}

static inline void os_send_all(os_socket s, const void *buf, int len)
{
    const char *p = (const char *)buf;
    while (len > 0) {
        int n = (int)send(s, p, len, 0);
        CHECK(n > 0);
        p += n;
        len -= n;
    }
}

/* Receives exactly len bytes. */
static inline void os_recv_all(os_socket s, void *buf, int len)
{
    char *p = (char *)buf;
    while (len > 0) {
        int n = (int)recv(s, p, len, 0);
        CHECK(n > 0);
        p += n;
        len -= n;
    }
}

/* An iocph endpoint for 127.0.0.1:port. */
static inline iocph_endpoint os_endpoint(uint16_t port)
{
    iocph_endpoint ep;
    memset(&ep, 0, sizeof ep);
    ep.family = IOCPH_AF_INET;
    ep.port = port;
    ep.address[0] = 127;
    ep.address[3] = 1;
    return ep;
}

#endif
