/* iocph_handle_associate refuses what it can't serve, with a clear code and no side effect: the
 * caller's handle stays open, in the mode it had, and usable. Bad arguments; a handle that is
 * not open; a handle of another kind than the one named (a file as a socket, a listener as a
 * connection, an unconnected socket, a datagram socket as TCP, a socket as a file or a pipe); a
 * handle already associated with a port (this one or another, also through a duplicate);
 * a port that is shut down. */
#include "test_util.h"

#include "os_handles.h"

static void refused(iocph_port_t port, int64_t os, int32_t kind, uint32_t flags, int32_t expected,
                    int line)
{
#ifndef _WIN32
    int mode = fcntl((int)os, F_GETFL);
#endif
    iocph_handle_t h = 0xDEAD;
    int32_t rc = iocph_handle_associate(port, os, kind, 1, flags, &h);
    if (rc != expected)
        test_fail(__FILE__, line, "kind %d: got %d (%s), expected %d (%s)", (int)kind, (int)rc,
                  iocph_status_message(rc), (int)expected, iocph_status_message(expected));
    if (h != 0)
        test_fail(__FILE__, line, "the handle was not zeroed");
    if (expected != IOCPH_E_BADHANDLE && !os_is_open(os))
        test_fail(__FILE__, line, "the caller's handle was closed");
#ifndef _WIN32
    if (expected != IOCPH_E_BADHANDLE && fcntl((int)os, F_GETFL) != mode)
        test_fail(__FILE__, line, "the caller's file status flags changed");
#endif
}
#define REFUSED(port, os, kind, flags, expected) refused(port, os, kind, flags, expected, __LINE__)

int main(void)
{
    test_watchdog(60);
    os_init();
    iocph_port_t port = test_port_pull(1), other = test_port_pull(1);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "associate-bad");
    test_path(path, sizeof path, dir, "f.bin");
    int64_t file = os_open_file(path, 0);
    uint16_t lport;
    os_socket listener = os_tcp_listener(&lport);
    os_socket client = os_tcp_connect(lport);
    os_socket unconnected = os_socket_new(SOCK_STREAM, 0);
    os_socket udp = os_socket_new(SOCK_DGRAM, 0);
    os_bind_loopback(udp);
    int64_t pr, pw;
    os_pipe(&pr, &pw, 1);

    /* Arguments. */
    iocph_handle_t h = 0;
    CHECK_STATUS(iocph_handle_associate(port, file, IOCPH_HANDLE_FILE, 1, 0, NULL),
                 IOCPH_E_INVALID_ARGUMENT);
    REFUSED(port, file, 0, 0, IOCPH_E_INVALID_ARGUMENT);
    REFUSED(port, file, 7, 0, IOCPH_E_INVALID_ARGUMENT);
    REFUSED(port, file, IOCPH_HANDLE_FILE, 0x100, IOCPH_E_INVALID_ARGUMENT);
    REFUSED(port, -1, IOCPH_HANDLE_FILE, 0, IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_handle_associate(0, file, IOCPH_HANDLE_FILE, 1, 0, &h), IOCPH_E_BADHANDLE);
    CHECK_STATUS(iocph_handle_associate(port ^ ((uint64_t)1 << 40), file, IOCPH_HANDLE_FILE, 1, 0, &h),
                 IOCPH_E_BADHANDLE);

    /* A handle that is not open. */
    int64_t closed = os_open_file(path, 0);
    os_close(closed);
    REFUSED(port, closed, IOCPH_HANDLE_FILE, 0, IOCPH_E_BADHANDLE);
    REFUSED(port, closed, IOCPH_HANDLE_TCP, 0, IOCPH_E_BADHANDLE);
    REFUSED(port, closed, IOCPH_HANDLE_PIPE_READ, IOCPH_ASSOCIATE_DUPLICATE, IOCPH_E_BADHANDLE);

    /* The wrong kind. */
    REFUSED(port, file, IOCPH_HANDLE_TCP, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, file, IOCPH_HANDLE_TCP_LISTENER, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, file, IOCPH_HANDLE_UDP, IOCPH_ASSOCIATE_DUPLICATE, IOCPH_E_WRONG_KIND);
    REFUSED(port, file, IOCPH_HANDLE_PIPE_READ, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, (int64_t)client, IOCPH_HANDLE_FILE, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, (int64_t)listener, IOCPH_HANDLE_TCP, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, (int64_t)client, IOCPH_HANDLE_TCP_LISTENER, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, (int64_t)udp, IOCPH_HANDLE_TCP, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, (int64_t)client, IOCPH_HANDLE_UDP, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, (int64_t)unconnected, IOCPH_HANDLE_TCP, 0, IOCPH_E_NOT_CONNECTED);
    REFUSED(port, (int64_t)unconnected, IOCPH_HANDLE_TCP_LISTENER, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, pr, IOCPH_HANDLE_TCP, 0, IOCPH_E_WRONG_KIND);
    REFUSED(port, (int64_t)udp, IOCPH_HANDLE_PIPE_READ, 0, IOCPH_E_WRONG_KIND);
#ifdef _WIN32
    REFUSED(port, pr, IOCPH_HANDLE_FILE, 0, IOCPH_E_WRONG_KIND); /* Linux: a FIFO is a file too */
#else
    int dirfd = open(dir, O_RDONLY | O_CLOEXEC);
    CHECK(dirfd >= 0);
    REFUSED(port, dirfd, IOCPH_HANDLE_FILE, 0, IOCPH_E_IS_DIRECTORY);
    close(dirfd);
#endif

    /* Every refusal above left the handles usable. */
    os_socket served = accept(listener, NULL, NULL);
    CHECK(served != (os_socket)-1);
    os_send_all(served, "still", 5);

    /* Already associated: with this port, with another, through a duplicate. */
    CHECK_OK(iocph_handle_associate(port, (int64_t)client, IOCPH_HANDLE_TCP, 1,
                                    IOCPH_ASSOCIATE_DUPLICATE, &h));
    REFUSED(port, (int64_t)client, IOCPH_HANDLE_TCP, IOCPH_ASSOCIATE_DUPLICATE,
            IOCPH_E_ALREADY_ASSOCIATED);
    REFUSED(other, (int64_t)client, IOCPH_HANDLE_TCP, IOCPH_ASSOCIATE_DUPLICATE,
            IOCPH_E_ALREADY_ASSOCIATED);
    REFUSED(other, (int64_t)client, IOCPH_HANDLE_TCP, 0, IOCPH_E_ALREADY_ASSOCIATED);
    iocph_handle_t f = 0;
    CHECK_OK(iocph_handle_associate(port, file, IOCPH_HANDLE_FILE, 1, 0, &f));
    REFUSED(other, file, IOCPH_HANDLE_FILE, 0, IOCPH_E_ALREADY_ASSOCIATED);
    iocph_handle_t pipe_read = 0;
    CHECK_OK(iocph_handle_associate(port, pr, IOCPH_HANDLE_PIPE_READ, 1, 0, &pipe_read));
    REFUSED(other, pr, IOCPH_HANDLE_PIPE_READ, IOCPH_ASSOCIATE_DUPLICATE, IOCPH_E_ALREADY_ASSOCIATED);
#ifndef _WIN32
    /* The kernel object counts, not the fd: a dup of the socket is the same socket. */
    int again = dup((int)client);
    CHECK(again >= 0);
    REFUSED(other, again, IOCPH_HANDLE_TCP, 0, IOCPH_E_ALREADY_ASSOCIATED);
    close(again);
#endif
    /* The port's handle still works after the refusals: the bytes sent above arrive. */
    char buf[8] = {0};
    CHECK_OK(iocph_socket_receive(h, buf, 5, 0, 9, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 9);
    CHECK_EQ(c.result, 5);
    CHECK(memcmp(buf, "still", 5) == 0);
    CHECK_OK(iocph_handle_close(h));
    CHECK_OK(iocph_handle_close(f));
    CHECK_OK(iocph_handle_close(pipe_read));

    /* A port shut down takes nothing new. */
    CHECK_OK(iocph_port_shutdown(other, UINT32_MAX));
    REFUSED(other, (int64_t)udp, IOCPH_HANDLE_UDP, 0, IOCPH_E_SHUTDOWN);

    os_close_socket((int64_t)udp);
    os_close_socket((int64_t)unconnected);
    os_close_socket((int64_t)client);
    os_close_socket((int64_t)served);
    os_close_socket((int64_t)listener);
    os_close(pw);
    CHECK_OK(iocph_port_destroy(other));
    CHECK_OK(iocph_port_destroy(port));
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
