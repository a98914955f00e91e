/*
 * no_io_uring - runs a command in a process where io_uring is refused, as in a container.
 *
 *   no_io_uring [--errno EPERM|ENOSYS] command [args...]
 *
 * Installs a seccomp filter that makes io_uring_setup, io_uring_enter and io_uring_register fail
 * with EPERM (what Docker's default profile, Docker Desktop and Kubernetes' RuntimeDefault do) or
 * ENOSYS (gVisor, kernels without io_uring), then execs the command. Nothing on the machine
 * changes: the filter binds this process and its children only, and needs no privilege
 * (PR_SET_NO_NEW_PRIVS). The tests use it to see the library fall back to epoll.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "no_io_uring: unknown architecture"
#endif

static int install_filter(int error)
{
    struct sock_filter filter[] = {
        /* Another ABI (a 32-bit call on x86_64) has other numbers: leave it alone. */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)error & SECCOMP_RET_DATA)),
    };
    struct sock_fprog program = {.len = (unsigned short)(sizeof filter / sizeof filter[0]),
                                 .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    /* prctl rather than seccomp(2) (the same filter mode, no flags): valgrind 3.19 knows this
     * prctl but not the seccomp system call, and the memcheck pass runs this tool under it. */
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
}

int main(int argc, char **argv)
{
    int first = 1, error = EPERM;
    if (argc > 2 && strcmp(argv[1], "--errno") == 0) {
        if (strcmp(argv[2], "EPERM") == 0)
            error = EPERM;
        else if (strcmp(argv[2], "ENOSYS") == 0)
            error = ENOSYS;
        else {
            fprintf(stderr, "no_io_uring: --errno takes EPERM or ENOSYS, not %s\n", argv[2]);
            return 2;
        }
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: no_io_uring [--errno EPERM|ENOSYS] command [args...]\n");
        return 2;
    }
    if (install_filter(error) != 0) {
        perror("no_io_uring: installing the seccomp filter");
        return 126;
    }
    execvp(argv[first], argv + first);
    fprintf(stderr, "no_io_uring: %s: %s\n", argv[first], strerror(errno));
    return 127;
}
