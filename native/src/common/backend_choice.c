/* Which backend a port runs on, and why. The rule, as libuv's: a faster backend is an
 * optimisation, never a requirement. DEFAULT tries this OS's backends best first (Linux:
 * io_uring, then epoll) and takes the first that starts, remembering why it passed over the
 * others; a backend named by the options or by IOCPH_BACKEND is started or refused, never
 * swapped for another, so that a user who asked for io_uring learns that it is refused here. */
#include "api_shared.h"

#include <string.h>

/* This OS's backends, best first. */
static const iocph__backend *const candidates[] = {
#ifdef _WIN32
    &iocph__backend_iocp,
#else
    &iocph__backend_io_uring,
    &iocph__backend_epoll,
#endif
};
#define CANDIDATE_COUNT (sizeof candidates / sizeof candidates[0])

static const iocph__backend *find(int32_t id)
{
    for (size_t i = 0; i < CANDIDATE_COUNT; i++)
        if (candidates[i]->id == id)
            return candidates[i];
    return NULL;
}

static int32_t probe(const iocph__backend *backend, int32_t *reason, int32_t *os_error)
{
    *reason = IOCPH_REASON_NONE;
    *os_error = 0;
    return backend->probe ? backend->probe(reason, os_error) : IOCPH_OK;
}

/* IOCPH_BACKEND: a backend id, DEFAULT for "default" or unset, -1 for anything else. */
static int32_t backend_from_environment(void)
{
    const char *env = iocph__getenv("IOCPH_BACKEND");
    if (!env || !*env || strcmp(env, "default") == 0)
        return IOCPH_BACKEND_DEFAULT;
    static const int32_t ids[] = {IOCPH_BACKEND_IOCP, IOCPH_BACKEND_IO_URING, IOCPH_BACKEND_EPOLL};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(env, iocph_backend_name(ids[i])) == 0)
            return ids[i];
    return -1;
}

static int32_t start_named(iocph__port *port, int32_t id)
{
    const iocph__backend *backend = find(id);
    if (!backend)
        return IOCPH_E_UNSUPPORTED; /* not this OS's */
    int32_t reason, os_error;
    int32_t rc = probe(backend, &reason, &os_error);
    if (rc < 0)
        return rc;
    port->backend = backend;
    port->backend_id = id;
    port->backend_reason = IOCPH_REASON_FORCED;
    port->backend_os_error = 0;
    return backend->port_start(port);
}

static int32_t start_default(iocph__port *port)
{
    int32_t first_reason = IOCPH_REASON_NONE, first_error = 0;
    int32_t rc = IOCPH_E_UNSUPPORTED;
    for (size_t i = 0; i < CANDIDATE_COUNT; i++) {
        int32_t reason, os_error;
        rc = probe(candidates[i], &reason, &os_error);
        if (rc != IOCPH_OK && rc != IOCPH_E_UNSUPPORTED)
            return rc; /* out of descriptors: an answer for the caller, not a refusal */
        if (rc == IOCPH_OK) {
            port->backend = candidates[i];
            port->backend_id = candidates[i]->id;
            rc = candidates[i]->port_start(port);
            if (rc == IOCPH_OK) {
                port->backend_reason = first_reason;
                port->backend_os_error = first_error;
                return IOCPH_OK;
            }
            /* The probe passed but this port's setup did not (say, RLIMIT_MEMLOCK used up by
             * earlier rings): only a refusal moves on; running out of memory is an answer. */
            if (rc != IOCPH_E_UNSUPPORTED)
                return rc;
            reason = IOCPH_REASON_IO_URING_FAILED;
            os_error = 0;
        }
        if (first_reason == IOCPH_REASON_NONE) {
            first_reason = reason;
            first_error = os_error;
        }
    }
    return rc;
}

int32_t iocph__backend_start(iocph__port *port, int32_t requested)
{
    if (requested == IOCPH_BACKEND_DEFAULT) {
        requested = backend_from_environment();
        if (requested < 0)
            return IOCPH_E_UNSUPPORTED; /* IOCPH_BACKEND names no backend */
    }
    return requested == IOCPH_BACKEND_DEFAULT ? start_default(port) : start_named(port, requested);
}

int32_t iocph_backend_probe(int32_t backend, int32_t *reason_out, int32_t *os_error_out)
{
    int32_t reason = IOCPH_REASON_NONE, os_error = 0, rc = IOCPH_OK;
    if (backend < IOCPH_BACKEND_DEFAULT || backend > IOCPH_BACKEND_EPOLL)
        return IOCPH_E_INVALID_ARGUMENT;
    if (backend != IOCPH_BACKEND_DEFAULT) {
        const iocph__backend *b = find(backend);
        if (!b) {
            reason = IOCPH_REASON_NOT_THIS_OS;
            rc = IOCPH_E_UNSUPPORTED;
        } else {
            rc = probe(b, &reason, &os_error);
        }
    }
    if (reason_out)
        *reason_out = reason;
    if (os_error_out)
        *os_error_out = os_error;
    return rc;
}

int32_t iocph_port_get_backend_reason(iocph_port_t value, int32_t *reason, int32_t *os_error)
{
    iocph__port *port = iocph__port_acquire(value);
    if (!port)
        return IOCPH_E_BADHANDLE;
    if (reason)
        *reason = port->backend_reason;
    if (os_error)
        *os_error = port->backend_os_error;
    iocph__port_release(port);
    return IOCPH_OK;
}

const char *iocph_backend_name(int32_t backend)
{
    switch (backend) {
    case IOCPH_BACKEND_DEFAULT: return "default";
    case IOCPH_BACKEND_IOCP: return "iocp";
    case IOCPH_BACKEND_IO_URING: return "io_uring";
    case IOCPH_BACKEND_EPOLL: return "epoll";
    default: return "unknown";
    }
}

const char *iocph_backend_reason_message(int32_t reason)
{
    switch (reason) {
    case IOCPH_REASON_NONE:
        return "the first choice for this system";
    case IOCPH_REASON_FORCED:
        return "named by the port options or the IOCPH_BACKEND environment variable";
    case IOCPH_REASON_IO_URING_BLOCKED:
        return "io_uring_setup was refused (EPERM/EACCES) by a seccomp filter or security policy, "
               "as Docker's default profile, Docker Desktop, Kubernetes' RuntimeDefault profile "
               "and many sandboxes do; the epoll backend runs instead (IOCPH_BACKEND=epoll "
               "chooses it outright; allowing io_uring_setup, io_uring_enter and "
               "io_uring_register in the profile brings io_uring back)";
    case IOCPH_REASON_IO_URING_DISABLED:
        return "io_uring is disabled by the kernel.io_uring_disabled sysctl (2: for every "
               "process; 1: outside the kernel.io_uring_group group); the epoll backend runs "
               "instead (IOCPH_BACKEND=epoll chooses it outright; sysctl "
               "kernel.io_uring_disabled=0, or membership of that group, brings io_uring back)";
    case IOCPH_REASON_IO_URING_MEMLOCK:
        return "io_uring_setup failed with ENOMEM: kernels before 5.12 charge ring memory to "
               "RLIMIT_MEMLOCK; the epoll backend runs instead (raise the limit, ulimit -l, "
               "to get io_uring)";
    case IOCPH_REASON_IO_URING_MISSING:
        return "io_uring_setup is not implemented here (ENOSYS: a kernel built without "
               "io_uring, gVisor, or a seccomp filter answering ENOSYS); the epoll backend runs "
               "instead";
    case IOCPH_REASON_IO_URING_TOO_OLD:
        return "the kernel's io_uring lacks an operation or feature the library needs (Linux "
               "5.6 or later is required, 5.19 or later recommended); the epoll backend runs "
               "instead";
    case IOCPH_REASON_IO_URING_FAILED:
        return "io_uring could not be set up for this port; the epoll backend runs instead";
    case IOCPH_REASON_NOT_THIS_OS:
        return "the backend does not exist on this operating system";
    default:
        return "unknown reason";
    }
}
