/* Where io_uring is refused, the default port runs on epoll, says why, and does real work: the
 * test runs itself again under tests/tools/no_io_uring (a seccomp filter that makes the io_uring
 * system calls fail with EPERM, then with ENOSYS, as containers and sandboxes do) and the child
 * goes through files, a pipe, TCP and UDP. Fails - never skips - if the fallback does not happen.
 * Linux only. */
#include "test_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void check_files(iocph_port_t port)
{
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "fallback");
    test_path(path, sizeof path, dir, "data.bin");
    static uint8_t out[65536], in[65536];
    test_fill(out, sizeof out, 3);
    iocph_handle_t f;
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ | IOCPH_FILE_WRITE | IOCPH_FILE_CREATE,
                             5, &f));
    CHECK_OK(iocph_file_write(f, out, sizeof out, 4096, 1, NULL));
    CHECK_EQ(test_dequeue_one(port, 10000).result, (int64_t)sizeof out);
    CHECK_OK(iocph_file_flush(f, 2, NULL));
    CHECK_EQ(test_dequeue_one(port, 10000).result, 0);
    CHECK_OK(iocph_file_read(f, in, sizeof in, 4096, 3, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.key, 5);
    CHECK_EQ(c.result, (int64_t)sizeof in);
    CHECK(memcmp(in, out, sizeof in) == 0);
    CHECK_OK(iocph_handle_close(f));
    test_remove_file(path);
    test_remove_dir(dir);
}

static void check_pipe(iocph_port_t port)
{
    iocph_handle_t r, w;
    CHECK_OK(iocph_pipe_create(port, 9, &r, &w));
    char buf[16] = {0};
    CHECK_OK(iocph_pipe_read(r, buf, sizeof buf, 1, NULL)); /* waits for readiness */
    test_expect_nothing(port, 20);
    CHECK_OK(iocph_pipe_write(w, "pipe", 4, 2, NULL));
    iocph_completion got[2];
    test_dequeue_n(port, got, 2, 10000);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(got[i].result, 4);
    CHECK(memcmp(buf, "pipe", 4) == 0);
    CHECK_OK(iocph_handle_close(r));
    CHECK_OK(iocph_handle_close(w));
}

static void check_tcp(iocph_port_t port)
{
    iocph_handle_t client, server;
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
    char buf[16] = {0};
    CHECK_OK(iocph_socket_receive(server, buf, sizeof buf, 10000, 1, NULL));
    CHECK_OK(iocph_socket_send(client, "tcp!", 4, 0, 2, NULL));
    iocph_completion got[2];
    test_dequeue_n(port, got, 2, 10000);
    CHECK_EQ(got[0].result, 4);
    CHECK_EQ(got[1].result, 4);
    CHECK(memcmp(buf, "tcp!", 4) == 0);
    CHECK_OK(iocph_handle_close(client));
    CHECK_OK(iocph_handle_close(server));
}

static void check_udp(iocph_port_t port)
{
    iocph_endpoint any = test_loopback(IOCPH_AF_INET, 0), a_ep, from;
    iocph_handle_t a, b;
    CHECK_OK(iocph_udp_bind(port, &any, 0, 1, &a));
    CHECK_OK(iocph_udp_bind(port, &any, 0, 2, &b));
    CHECK_OK(iocph_socket_get_endpoint(a, IOCPH_ENDPOINT_LOCAL, &a_ep));
    char buf[16] = {0};
    CHECK_OK(iocph_udp_receive_from(a, buf, sizeof buf, &from, 10000, 1, NULL));
    CHECK_OK(iocph_udp_send_to(b, "udp", 3, &a_ep, 0, 2, NULL));
    iocph_completion got[2];
    test_dequeue_n(port, got, 2, 10000);
    CHECK_EQ(got[0].result, 3);
    CHECK_EQ(got[1].result, 3);
    CHECK(memcmp(buf, "udp", 3) == 0);
    CHECK_OK(iocph_handle_close(a));
    CHECK_OK(iocph_handle_close(b));
}

/* In the filtered process: io_uring refused for the reason expected, epoll chosen, everything
 * works. */
static int child(int32_t expected_reason, int32_t expected_errno)
{
    test_watchdog(60);
    int32_t reason = -1, os_error = -1;
    CHECK_STATUS(iocph_backend_probe(IOCPH_BACKEND_IO_URING, &reason, &os_error),
                 IOCPH_E_UNSUPPORTED);
    CHECK_EQ(reason, expected_reason);
    CHECK_EQ(os_error, expected_errno);
    CHECK(strlen(iocph_backend_reason_message(reason)) > 20);

    /* Named, io_uring is refused, not swapped for epoll. */
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.backend = IOCPH_BACKEND_IO_URING;
    iocph_port_t port = 0;
    CHECK_STATUS(iocph_port_create(&o, &port), IOCPH_E_UNSUPPORTED);
    CHECK_EQ(port, 0);

    port = test_port_pull(2);
    int32_t backend = 0;
    CHECK_OK(iocph_port_get_backend(port, &backend));
    CHECK_EQ(backend, IOCPH_BACKEND_EPOLL);
    CHECK_OK(iocph_port_get_backend_reason(port, &reason, &os_error));
    CHECK_EQ(reason, expected_reason);
    CHECK_EQ(os_error, expected_errno);
    check_files(port);
    check_pipe(port);
    check_tcp(port);
    check_udp(port);
    CHECK_OK(iocph_port_post(port, 4, 44, 444));
    CHECK_EQ(test_dequeue_one(port, 10000).result, 444);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    printf("child: epoll, reason %d (%s)\n", (int)expected_reason,
           iocph_backend_reason_message(expected_reason));
    return 0;
}

static void run_filtered(const char *self, const char *error_name)
{
    char tool[1100];
    snprintf(tool, sizeof tool, "%s", self);
    char *slash = strrchr(tool, '/');
    CHECK(slash != NULL);
    snprintf(slash + 1, sizeof tool - (size_t)(slash + 1 - tool), "no_io_uring");
    CHECK(access(tool, X_OK) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        execl(tool, tool, "--errno", error_name, self, "--child", error_name, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        test_fail(__FILE__, __LINE__, "the child under no_io_uring --errno %s failed (status %d)",
                  error_name, status);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        if (strcmp(argv[2], "ENOSYS") == 0)
            return child(IOCPH_REASON_IO_URING_MISSING, ENOSYS);
        /* EPERM reads as the sysctl's refusal where kernel.io_uring_disabled is set. */
        FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
        int disabled = 0;
        if (f) {
            if (fscanf(f, "%d", &disabled) != 1)
                disabled = 0;
            fclose(f);
        }
        return child(disabled > 0 ? IOCPH_REASON_IO_URING_DISABLED : IOCPH_REASON_IO_URING_BLOCKED,
                     EPERM);
    }
    test_watchdog(120);
    /* The child must choose by itself, whatever this suite forces. */
    unsetenv("IOCPH_BACKEND");
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = '\0';
    run_filtered(self, "EPERM");
    run_filtered(self, "ENOSYS");
    printf("test_linux_backend_fallback: ok\n");
    return 0;
}
