/*
 * uring_probe.c - can io_uring run in this process, and if not, why not.
 *
 * Asked once per process (the answer does not change while it runs: a seccomp filter can be
 * added but never removed, and the sysctl is the administrator's) with a small ring of its own,
 * and remembered. The reasons name what users meet: Docker's default seccomp profile (25.0+),
 * Docker Desktop and Kubernetes' RuntimeDefault answer EPERM; kernel.io_uring_disabled answers
 * EPERM too, told apart by reading the sysctl; gVisor and kernels built without io_uring answer
 * ENOSYS; kernels before 5.12 charge rings to RLIMIT_MEMLOCK (ENOMEM).
 */
#include "uring_internal.h"

#include <errno.h>
#include <stdio.h>

/* kernel.io_uring_disabled (6.6+): 0 allowed, 1 only for kernel.io_uring_group, 2 nobody; -1
 * when the file is missing or unreadable. */
static int read_io_uring_disabled(void)
{
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
    if (!f)
        return -1;
    int value = -1;
    if (fscanf(f, "%d", &value) != 1)
        value = -1;
    fclose(f);
    return value;
}

static int32_t classify_setup_error(int error)
{
    switch (error) {
    case EPERM:
    case EACCES:
        return read_io_uring_disabled() > 0 ? IOCPH_REASON_IO_URING_DISABLED
                                            : IOCPH_REASON_IO_URING_BLOCKED;
    case ENOMEM: return IOCPH_REASON_IO_URING_MEMLOCK;
    case ENOSYS: return IOCPH_REASON_IO_URING_MISSING;
    default: return IOCPH_REASON_IO_URING_FAILED;
    }
}

/* A process out of descriptors (EMFILE, ENFILE) can't make the probe's ring, which says nothing
 * about io_uring: returns false and leaves that answer unremembered, so that the next port, made
 * once descriptors are free, asks again instead of falling back to epoll for good. */
static bool probe_once(int32_t *reason, int32_t *os_error)
{
    struct io_uring ring;
    int ret = io_uring_queue_init(8, &ring, 0);
    if (ret == -EMFILE || ret == -ENFILE) {
        *reason = IOCPH_REASON_NONE;
        *os_error = -ret;
        return false;
    }
    if (ret < 0) {
        *reason = classify_setup_error(-ret);
        *os_error = -ret;
        return true;
    }
    bool ok = (ring.features & IORING_FEAT_NODROP) && iocph__uring_has_required_opcodes(&ring);
    io_uring_queue_exit(&ring);
    *reason = ok ? IOCPH_REASON_NONE : IOCPH_REASON_IO_URING_TOO_OLD;
    *os_error = 0;
    return true;
}

/* 0: not asked yet (or the last asker ran out of descriptors); 1: being asked; 2: answered. Two
 * threads asking at once both wait for one answer. */
static _Atomic int probe_state;
static int32_t probe_reason, probe_os_error;

int32_t iocph__uring_probe(int32_t *reason, int32_t *os_error)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&probe_state, &expected, 1)) {
        if (!probe_once(&probe_reason, &probe_os_error)) {
            *reason = IOCPH_REASON_NONE;
            *os_error = probe_os_error;
            atomic_store(&probe_state, 0);
            return IOCPH_E_TOO_MANY_HANDLES;
        }
        atomic_store(&probe_state, 2);
    } else {
        int state;
        while ((state = atomic_load(&probe_state)) == 1) {
            /* A few microseconds, once per process at most. */
        }
        if (state == 0)
            return iocph__uring_probe(reason, os_error); /* the asker ran out: ask again */
    }
    *reason = probe_reason;
    *os_error = probe_os_error;
    return probe_reason == IOCPH_REASON_NONE ? IOCPH_OK : IOCPH_E_UNSUPPORTED;
}
