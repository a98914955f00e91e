/*
 * iocphybrid.h - the public C API of the IocpHybrid native core.
 *
 * One completion port, Windows I/O Completion Port semantics on every platform:
 *   - a port has worker threads and a concurrency value (as CreateIoCompletionPort);
 *   - handles (files, pipes) are associated with a port under a caller-chosen completion key;
 *   - operations start at once and complete later, in batches, through the port;
 *   - user packets can be posted (PostQueuedCompletionStatus) and travel the same path;
 *   - a port without a callback is in pull mode: the caller's own threads dequeue completions
 *     (GetQueuedCompletionStatusEx).
 *
 * Backends: IOCP on Windows; on Linux io_uring (liburing, linked statically) and epoll, chosen
 * at run time: io_uring where the kernel and the process's security policy allow it, epoll where
 * they refuse it (containers, io_uring_disabled, old kernels). Every backend keeps every rule
 * below; iocph_port_get_backend_reason tells which one runs and why.
 *
 * General rules (they hold for every function below):
 *   - Every function returns an int32_t status: IOCPH_OK (0) or a negative IOCPH_E_* code.
 *     Raw OS codes (errno, GetLastError) never decide anything; they travel along in
 *     iocph_completion.os_error for messages. iocph_status_message() turns a code into text.
 *   - Exactly-once rule: a function that starts an operation (iocph_file_read, iocph_pipe_write,
 *     iocph_port_post, ...) either returns an error, and then no completion is ever delivered for
 *     it, or returns IOCPH_OK, and then exactly one completion is delivered for it - also when it
 *     is cancelled, when its handle is closed, and when the port shuts down.
 *   - Buffers passed to an operation must stay valid and unmoved until its completion is
 *     delivered. The native side owns every per-operation structure (OVERLAPPED, SQE data).
 *   - Ports, handles and operations are opaque 64-bit values carrying a generation: a stale,
 *     closed or forged value is refused with IOCPH_E_BADHANDLE (IOCPH_E_NOTPENDING for an
 *     operation that already completed) and never reaches a reused slot. 0 is never valid.
 *   - Every function may be called from any thread, including from inside a completion callback,
 *     except iocph_port_shutdown and iocph_port_destroy, which must not be called from a callback
 *     of the same port (they return IOCPH_E_WRONGTHREAD there).
 */
#ifndef IOCPHYBRID_H
#define IOCPHYBRID_H

#include <stddef.h>
#include <stdint.h>

/* The export macro. A binding generator may define IOCPH_API empty before including this file. */
#ifndef IOCPH_API
#if defined(_WIN32)
#if defined(IOCPH_BUILDING)
#define IOCPH_API __declspec(dllexport)
#else
#define IOCPH_API __declspec(dllimport)
#endif
#else
#define IOCPH_API __attribute__((visibility("default")))
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Versions
 * ------------------------------------------------------------------------------------------ */

/* The project's one version: CMake (project VERSION, the DLL's version resource, the CMake package
 * and pkg-config files) and MSBuild (the NuGet package and assembly versions) read these three lines;
 * change it here and nowhere else. */
#define IOCPH_VERSION_MAJOR 0
#define IOCPH_VERSION_MINOR 1
#define IOCPH_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch, the value iocph_version() returns for this header. */
#define IOCPH_VERSION ((IOCPH_VERSION_MAJOR << 16) | (IOCPH_VERSION_MINOR << 8) | IOCPH_VERSION_PATCH)

/* The version of the library actually loaded, encoded as IOCPH_VERSION. */
IOCPH_API uint32_t iocph_version(void);

/* ---------------------------------------------------------------------------------------------
 * Status codes. Values lie outside the errno (1..4095) and Win32 (1..~16000) ranges so that a
 * code can never be mistaken for a raw OS code.
 * ------------------------------------------------------------------------------------------ */

typedef enum iocph_status {
    IOCPH_OK = 0,
    IOCPH_E_UNKNOWN = -20000,      /* an OS error with no portable meaning; see os_error */
    IOCPH_E_INVALID_ARGUMENT = -20001, /* null pointer, zero or too large length, bad flag, ... */
    IOCPH_E_BADHANDLE = -20002,    /* stale, closed, forged or wrong-kind port or handle */
    IOCPH_E_NOMEM = -20003,        /* out of memory or out of operation slots */
    IOCPH_E_TIMEOUT = -20004,      /* iocph_port_dequeue or iocph_port_shutdown timed out, or a
                                      socket operation outlived its timeout_ms */
    IOCPH_E_CANCELED = -20005,     /* the operation was cancelled (by request, close or shutdown) */
    IOCPH_E_SHUTDOWN = -20006,     /* the port is shut down or shutting down */
    IOCPH_E_FILE_NOT_FOUND = -20007,
    IOCPH_E_PATH_NOT_FOUND = -20008, /* a directory in the path does not exist */
    IOCPH_E_ACCESS_DENIED = -20009,
    IOCPH_E_FILE_EXISTS = -20010,  /* IOCPH_FILE_EXCLUSIVE and the file exists */
    IOCPH_E_ALIGNMENT = -20011,    /* unbuffered I/O with a misaligned buffer, length or offset */
    IOCPH_E_UNSUPPORTED = -20012,  /* backend or feature not available here */
    IOCPH_E_WRONG_MODE = -20013,   /* iocph_port_dequeue on a push-mode (callback) port */
    IOCPH_E_BROKEN_PIPE = -20014,  /* write to a pipe whose read end is closed; a TCP send
                                      after iocph_socket_shutdown_send */
    IOCPH_E_DISK_FULL = -20015,
    IOCPH_E_IO = -20016,           /* the device reported an I/O error */
    IOCPH_E_TOO_MANY_HANDLES = -20017, /* process or system handle limit reached */
    IOCPH_E_NOTPENDING = -20018,   /* cancel of an operation that is no longer in flight */
    IOCPH_E_WRONGTHREAD = -20019,  /* shutdown/destroy called from the port's own callback */
    IOCPH_E_IS_DIRECTORY = -20020, /* the path names a directory */
    IOCPH_E_CONNECTION_REFUSED = -20021,
    IOCPH_E_CONNECTION_RESET = -20022,   /* the peer reset the connection */
    IOCPH_E_CONNECTION_ABORTED = -20023, /* the local system aborted the connection */
    IOCPH_E_ADDRESS_IN_USE = -20024,
    IOCPH_E_ADDRESS_NOT_AVAILABLE = -20025, /* no such local address */
    IOCPH_E_HOST_UNREACHABLE = -20026,
    IOCPH_E_NETWORK_UNREACHABLE = -20027,
    IOCPH_E_MESSAGE_TOO_LARGE = -20028,  /* a datagram larger than the protocol allows */
    IOCPH_E_NOT_CONNECTED = -20029,
    IOCPH_E_WOULD_BLOCK = -20030,  /* an iocph_*_try_* call could not finish without waiting */
    IOCPH_E_WRONG_KIND = -20031,   /* iocph_handle_associate: the OS handle is not of the kind
                                      named (a file given as a socket, a listening socket as a
                                      connection, a datagram socket as TCP, ...) */
    IOCPH_E_ALREADY_ASSOCIATED = -20032, /* iocph_handle_associate: the OS handle is already
                                      associated with a completion port (this library's, or on
                                      Windows any other: a file object joins one port for good) */
    IOCPH_E_NOT_OVERLAPPED = -20033 /* iocph_handle_associate (Windows): the handle was opened
                                      for synchronous I/O (no FILE_FLAG_OVERLAPPED), which a
                                      completion port can't serve */
} iocph_status;

/* A static, English, never-NULL message for a status code ("unknown status" for others). */
IOCPH_API const char *iocph_status_message(int32_t status);

/* ---------------------------------------------------------------------------------------------
 * Opaque values
 * ------------------------------------------------------------------------------------------ */

typedef uint64_t iocph_port_t;   /* a completion port */
typedef uint64_t iocph_handle_t; /* a file or pipe end associated with a port */
typedef uint64_t iocph_op_t;     /* one operation in flight, for iocph_op_cancel */

/* ---------------------------------------------------------------------------------------------
 * Completions
 * ------------------------------------------------------------------------------------------ */

typedef enum iocph_completion_flags {
    IOCPH_COMPLETION_NONE = 0,
    IOCPH_COMPLETION_POSTED = 1,   /* a packet from iocph_port_post: result is the posted value */
    IOCPH_COMPLETION_TRUNCATED = 2 /* a datagram was longer than the buffer: the rest is lost */
} iocph_completion_flags;

/* One completed operation or posted packet. 32 bytes, the same on every platform. */
typedef struct iocph_completion {
    uint64_t user_data; /* the value given when the operation started */
    uint64_t key;       /* the completion key of the handle (or the key given to iocph_port_post) */
    int64_t result;     /* >= 0: bytes transferred (0 at end of file / pipe closed by the writer);
                           < 0: an IOCPH_E_* code; for posted packets: the posted value */
    int32_t os_error;   /* the raw errno or Win32 error behind a negative result, else 0 */
    uint32_t flags;     /* iocph_completion_flags */
} iocph_completion;

/*
 * Push-mode callback: receives a batch of 1..max_batch completions. Called on one of the port's
 * worker threads; at most `concurrency` threads of one port run it at the same time. The array is
 * valid only during the call. The callback must not block for long: it holds a worker.
 * Linux: the library's threads keep SIGPIPE blocked (a write to a closed pipe fails with EPIPE
 * there instead of raising the signal), also while they run the callback.
 */
typedef void (*iocph_completion_callback)(void *context, const iocph_completion *entries,
                                          uint32_t count);

/* ---------------------------------------------------------------------------------------------
 * Ports
 * ------------------------------------------------------------------------------------------ */

typedef enum iocph_backend {
    IOCPH_BACKEND_DEFAULT = 0, /* the best backend that runs here: IOCP on Windows; on Linux
                                  io_uring, or epoll when io_uring is refused or lacks what the
                                  library needs. The IOCPH_BACKEND environment variable
                                  ("iocp", "io_uring", "epoll", "default") overrides it. */
    IOCPH_BACKEND_IOCP = 1,
    IOCPH_BACKEND_IO_URING = 2,
    IOCPH_BACKEND_EPOLL = 3    /* Linux: readiness (edge-triggered epoll) for sockets and pipes,
                                  a small pool of blocking threads for regular files */
} iocph_backend;

/* Why a port runs on the backend it runs on (iocph_port_get_backend_reason), or why a backend
 * can't run here (iocph_backend_probe). iocph_backend_reason_message explains each one. */
typedef enum iocph_backend_reason {
    IOCPH_REASON_NONE = 0,              /* the default choice: nothing was refused */
    IOCPH_REASON_FORCED = 1,            /* named by the options or by IOCPH_BACKEND */
    IOCPH_REASON_IO_URING_BLOCKED = 2,  /* io_uring_setup refused (EPERM/EACCES) by a seccomp
                                           filter or security policy (containers) */
    IOCPH_REASON_IO_URING_DISABLED = 3, /* the kernel.io_uring_disabled sysctl refuses it */
    IOCPH_REASON_IO_URING_MEMLOCK = 4,  /* ENOMEM: RLIMIT_MEMLOCK (kernels before 5.12) */
    IOCPH_REASON_IO_URING_MISSING = 5,  /* ENOSYS: no io_uring in this kernel or sandbox */
    IOCPH_REASON_IO_URING_TOO_OLD = 6,  /* an operation or feature the backend needs is missing */
    IOCPH_REASON_IO_URING_FAILED = 7,   /* io_uring could not be set up (see os_error) */
    IOCPH_REASON_NOT_THIS_OS = 8        /* the backend does not exist on this OS */
} iocph_backend_reason;

typedef struct iocph_port_options {
    uint32_t size;           /* sizeof(iocph_port_options): lets the struct grow compatibly */
    int32_t backend;         /* iocph_backend */
    uint32_t worker_threads; /* push mode: worker threads (0 = number of processors the process
                                may run on: its affinity mask);
                                pull mode: threads driving the OS queue where the backend needs
                                them (io_uring: rings), 0 = 1 */
    uint32_t concurrency;    /* max threads running callbacks at once, 0 = processors (as above) */
    uint32_t queue_depth;    /* operations in flight the port is sized for (0 = 256); more are
                                accepted, up to IOCPH_MAX_OPS, by growing the operation pool */
    uint32_t max_batch;      /* max completions per callback call (0 = 64, max 1024) */
    iocph_completion_callback callback; /* NULL: pull mode (iocph_port_dequeue) */
    void *callback_context;  /* passed back to the callback */
} iocph_port_options;

/* The most operations one port can have in flight at once. */
#define IOCPH_MAX_OPS (1u << 20)

/* Fills options with the defaults (push mode without a callback is pull mode). */
IOCPH_API int32_t iocph_port_options_init(iocph_port_options *options);

/*
 * Creates a port and starts its worker threads. options->size must be set.
 * Errors: IOCPH_E_INVALID_ARGUMENT (NULL, bad size, unknown backend, max_batch > 1024),
 * IOCPH_E_UNSUPPORTED (the backend asked for does not exist on this OS or is refused here:
 * iocph_backend_probe says why; DEFAULT falls back instead of failing),
 * IOCPH_E_TOO_MANY_HANDLES (the process is out of descriptors: a shortage, never a reason to
 * fall back, so the next port made once descriptors are free gets the backend it would have had),
 * IOCPH_E_NOMEM.
 */
IOCPH_API int32_t iocph_port_create(const iocph_port_options *options, iocph_port_t *port);

/* The backend actually in use (iocph_backend). */
IOCPH_API int32_t iocph_port_get_backend(iocph_port_t port, int32_t *backend);

/* Why the port runs on its backend (iocph_backend_reason): IOCPH_REASON_NONE for the default's
 * first choice, IOCPH_REASON_FORCED when named, or the reason the first choice was refused
 * (then *os_error is the errno behind it, else 0). Either pointer may be NULL. */
IOCPH_API int32_t iocph_port_get_backend_reason(iocph_port_t port, int32_t *reason,
                                                int32_t *os_error);

/* Whether `backend` can run in this process: IOCPH_OK, or IOCPH_E_UNSUPPORTED with *reason and
 * *os_error saying why (for instance IOCPH_REASON_IO_URING_BLOCKED in a container). DEFAULT
 * always can. The answer for io_uring is found once per process and remembered, except
 * IOCPH_E_TOO_MANY_HANDLES: the process was out of descriptors when it asked (not remembered). */
IOCPH_API int32_t iocph_backend_probe(int32_t backend, int32_t *reason, int32_t *os_error);

/* A static name for a backend value: "iocp", "io_uring", "epoll", "default"; "unknown" otherwise. */
IOCPH_API const char *iocph_backend_name(int32_t backend);

/* A static, English, never-NULL sentence for an iocph_backend_reason, with the way out where
 * there is one ("unknown reason" for other values). */
IOCPH_API const char *iocph_backend_reason_message(int32_t reason);

/*
 * Posts a user packet (PostQueuedCompletionStatus): one completion with IOCPH_COMPLETION_POSTED,
 * the given key, user_data and value in `result`, delivered through the same path as I/O.
 * Errors: IOCPH_E_BADHANDLE, IOCPH_E_SHUTDOWN, IOCPH_E_NOMEM.
 */
IOCPH_API int32_t iocph_port_post(iocph_port_t port, uint64_t key, uint64_t user_data,
                                  int64_t value);

/*
 * Pull mode only (GetQueuedCompletionStatusEx): waits up to timeout_ms (UINT32_MAX = forever,
 * 0 = poll) for completions and copies 1..max of them into entries; *count receives how many.
 * Any number of the caller's threads may dequeue at once; each completion goes to exactly one.
 * Errors: IOCPH_E_TIMEOUT (nothing arrived in time, *count = 0), IOCPH_E_WRONG_MODE (the port
 * has a callback), IOCPH_E_SHUTDOWN (the port is shut down and every completion was dequeued),
 * IOCPH_E_INVALID_ARGUMENT (NULL, max == 0), IOCPH_E_BADHANDLE.
 */
IOCPH_API int32_t iocph_port_dequeue(iocph_port_t port, iocph_completion *entries, uint32_t max,
                                     uint32_t timeout_ms, uint32_t *count);

/*
 * Graceful shutdown. New operations and posts are refused with IOCPH_E_SHUTDOWN; every operation
 * in flight is cancelled and its completion delivered (push mode: through the callback; pull
 * mode: it waits for the caller's threads to dequeue them); then one wake-up is posted per worker
 * and the workers are joined. Waits at most timeout_ms (UINT32_MAX = forever): IOCPH_E_TIMEOUT if
 * operations are still in flight then (call it again to keep waiting). Handles stay valid until
 * closed or until iocph_port_destroy, but start no new operation.
 * Errors: IOCPH_E_SHUTDOWN if a previous call already completed the shutdown,
 * IOCPH_E_WRONGTHREAD from the port's own callback, IOCPH_E_BADHANDLE, IOCPH_E_TIMEOUT.
 */
IOCPH_API int32_t iocph_port_shutdown(iocph_port_t port, uint32_t timeout_ms);

/*
 * Shuts the port down if needed (waiting forever; in pull mode completions nobody dequeued are
 * discarded), closes every handle still open and frees the port. The value becomes stale.
 */
IOCPH_API int32_t iocph_port_destroy(iocph_port_t port);

typedef struct iocph_port_stats {
    uint32_t size;                  /* set by the caller: sizeof(iocph_port_stats) */
    uint32_t worker_threads;        /* worker threads running */
    uint64_t ops_in_flight;         /* started (posts included), not yet delivered */
    uint64_t ops_started;           /* operations and posts accepted since creation */
    uint64_t completions_delivered; /* completions handed to the callback or dequeued */
    uint64_t callback_batches;      /* callback calls (push) or successful dequeues (pull) */
    uint64_t handles_open;          /* handles associated and not yet closed */
    uint64_t os_waits;              /* io_uring_enter / epoll_wait / GetQueuedCompletionStatusEx
                                       calls made by the workers: completions_delivered /
                                       os_waits is the batching the port achieves */
} iocph_port_stats;

/* Copies the port's statistics (a consistent-enough snapshot; counters are not atomic together). */
IOCPH_API int32_t iocph_port_get_stats(iocph_port_t port, iocph_port_stats *stats);

/* ---------------------------------------------------------------------------------------------
 * Handles common to every kind
 * ------------------------------------------------------------------------------------------ */

/*
 * Closes a handle: the value becomes stale at once, every operation still in flight on it is
 * cancelled (each completes exactly once, with IOCPH_E_CANCELED unless it finished first), and
 * the OS handle is closed when the last of them has completed.
 */
IOCPH_API int32_t iocph_handle_close(iocph_handle_t handle);

/*
 * Requests cancellation of one operation started on `handle`. Its completion still arrives, with
 * IOCPH_E_CANCELED, or with its real result if it finished first. A file read, write or flush the
 * OS has already begun may not stop: on the epoll backend one that a pool thread is running (a
 * blocking pread/pwrite/fsync, which nothing interrupts) completes with its real result when the
 * system call returns, and only one still queued for a pool thread completes with
 * IOCPH_E_CANCELED; io_uring and IOCP likewise let a device transfer in progress finish.
 * Errors: IOCPH_E_NOTPENDING (already completed, or not an operation of this handle),
 * IOCPH_E_BADHANDLE.
 */
IOCPH_API int32_t iocph_op_cancel(iocph_handle_t handle, iocph_op_t op);

/* Requests cancellation of every operation in flight on the handle. 0 also when none was. */
IOCPH_API int32_t iocph_handle_cancel_all(iocph_handle_t handle);

/* ---------------------------------------------------------------------------------------------
 * Associating an OS handle the caller already has (CreateIoCompletionPort(handle, port, key, 0))
 * ------------------------------------------------------------------------------------------ */

/* What an existing OS handle is, for iocph_handle_associate. */
typedef enum iocph_handle_kind {
    IOCPH_HANDLE_FILE = 1,         /* a file (Linux: regular file, block or character device,
                                      FIFO; Windows: a disk file): the iocph_file_* functions */
    IOCPH_HANDLE_PIPE_READ = 2,    /* the read end of a pipe (Linux: pipe/FIFO fd, or a stream
                                      socket used one way; Windows: a pipe handle):
                                      iocph_pipe_read */
    IOCPH_HANDLE_PIPE_WRITE = 3,   /* the write end: iocph_pipe_write */
    IOCPH_HANDLE_TCP_LISTENER = 4, /* a listening TCP socket (IPv4/IPv6): iocph_tcp_accept */
    IOCPH_HANDLE_TCP = 5,          /* a connected TCP socket: send, receive, shutdown, options */
    IOCPH_HANDLE_UDP = 6           /* a UDP socket (bound or not): send_to, receive_from */
} iocph_handle_kind;

typedef enum iocph_associate_flags {
    IOCPH_ASSOCIATE_NONE = 0,
    IOCPH_ASSOCIATE_DUPLICATE = 0x1 /* associate a duplicate and leave the caller's handle to the
                                       caller (see the ownership rule below) */
} iocph_associate_flags;

/*
 * Associates an OS handle the caller already has - an fd (Linux), a HANDLE or SOCKET (Windows),
 * passed as an integer - with `port` under `key`, and returns the library's handle for it, usable
 * with every function of its kind exactly as if the library had opened it.
 *
 * Ownership:
 *   - Without IOCPH_ASSOCIATE_DUPLICATE, success moves the OS handle to the port: the caller must
 *     no longer use or close it; iocph_handle_close (or iocph_port_destroy) closes it once the
 *     last operation on it has completed.
 *   - With IOCPH_ASSOCIATE_DUPLICATE the port owns a duplicate it made (Linux: fcntl
 *     F_DUPFD_CLOEXEC; Windows: a file is reopened with ReOpenFile for overlapped I/O, a socket
 *     duplicated with WSADuplicateSocket, a pipe handle with DuplicateHandle) and closes that
 *     one; the caller keeps its own handle and may close it at once: the file, pipe or socket
 *     stays open while either is. This is how a .NET object that owns its handle (Socket,
 *     SafeFileHandle) is associated.
 *   - On any error nothing changed: the caller still owns its handle, the port has nothing.
 * What association changes in the OS object (shared with every duplicate of it): on Linux the
 * O_NONBLOCK flag of the open file description is set to what the backend needs - cleared for
 * files on both backends and for pipes and sockets on io_uring, set for pipes and sockets on
 * epoll; on Windows the handle joins the port's IOCP for good (a file object can be associated
 * with one port only: closing the library's handle does not undo it) and pipes and TCP sockets
 * skip the completion packet of an I/O that succeeds at once
 * (FILE_SKIP_COMPLETION_PORT_ON_SUCCESS), as the library's own do.
 *
 * Kinds and what is checked (before anything is changed):
 *   - The handle must be open (IOCPH_E_BADHANDLE) and of the kind named (IOCPH_E_WRONG_KIND):
 *     files are not sockets or directories (IOCPH_E_IS_DIRECTORY), pipe ends are pipes, FIFOs or
 *     (Linux) stream sockets, TCP sockets are IPv4/IPv6 stream sockets, connected
 *     (IOCPH_E_NOT_CONNECTED) and not listening, listeners are listening, UDP sockets are IPv4/IPv6
 *     datagram sockets. Linux: a pipe end, file or socket must be open for the direction its
 *     kind uses (IOCPH_E_ACCESS_DENIED); a file's access mode, O_APPEND and O_DIRECT become its
 *     IOCPH_FILE_READ/WRITE/APPEND/UNBUFFERED rules. Windows: access is not read back (an
 *     operation the handle does not allow fails at completion with IOCPH_E_ACCESS_DENIED).
 *   - Windows: a file or pipe handle opened without FILE_FLAG_OVERLAPPED is refused with
 *     IOCPH_E_NOT_OVERLAPPED (anonymous pipes from CreatePipe always are); with
 *     IOCPH_ASSOCIATE_DUPLICATE a disk file is reopened overlapped instead, which also serves a
 *     file already bound to another port (.NET binds FileOptions.Asynchronous handles to its
 *     thread pool when it opens them). The reopen asks for read and write access, then for either,
 *     within what the original handle's share mode allows. Sockets must come from WSASocket with
 *     WSA_FLAG_OVERLAPPED (socket() and .NET's Socket make such sockets).
 *   - A handle already associated with a port is refused with IOCPH_E_ALREADY_ASSOCIATED:
 *     Windows refuses a second port itself (also a .NET handle its thread pool has bound, for
 *     sockets and pipes after their first asynchronous operation); on Linux the library refuses
 *     a socket, pipe or FIFO that it holds already through any fd, and a file fd it holds
 *     already (two separate opens of one file are two handles).
 * Errors: the above, IOCPH_E_INVALID_ARGUMENT (NULL, unknown kind or flag), IOCPH_E_BADHANDLE or
 * IOCPH_E_SHUTDOWN (port), IOCPH_E_NOMEM, IOCPH_E_TOO_MANY_HANDLES.
 */
IOCPH_API int32_t iocph_handle_associate(iocph_port_t port, int64_t os_handle, int32_t kind,
                                         uint64_t key, uint32_t flags, iocph_handle_t *handle);

/* ---------------------------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------------------------ */

typedef enum iocph_file_flags {
    IOCPH_FILE_READ = 0x1,
    IOCPH_FILE_WRITE = 0x2,
    IOCPH_FILE_CREATE = 0x4,     /* create if missing (needs WRITE) */
    IOCPH_FILE_EXCLUSIVE = 0x8,  /* with CREATE: fail with IOCPH_E_FILE_EXISTS if it exists */
    IOCPH_FILE_TRUNCATE = 0x10,  /* truncate to 0 on open (needs WRITE) */
    IOCPH_FILE_APPEND = 0x20,    /* every write goes to the end; the offset is ignored */
    IOCPH_FILE_UNBUFFERED = 0x40 /* O_DIRECT / FILE_FLAG_NO_BUFFERING: see below */
} iocph_file_flags;

/*
 * Unbuffered files: the buffer address, the length and the offset of every read and write must
 * be multiples of IOCPH_UNBUFFERED_ALIGNMENT, otherwise the operation is refused with
 * IOCPH_E_ALIGNMENT before it reaches the OS (4096 covers every sector size in use). A read at
 * the end of the file may still return fewer bytes.
 */
#define IOCPH_UNBUFFERED_ALIGNMENT 4096

/* The largest length of one read or write (Linux's MAX_RW_COUNT); larger is refused. */
#define IOCPH_MAX_IO_LENGTH 0x7FFFF000u

/*
 * Opens a file by UTF-8 path and associates it with the port under `key`. At least one of READ
 * and WRITE. Errors: IOCPH_E_INVALID_ARGUMENT, IOCPH_E_FILE_NOT_FOUND, IOCPH_E_PATH_NOT_FOUND,
 * IOCPH_E_ACCESS_DENIED, IOCPH_E_FILE_EXISTS, IOCPH_E_IS_DIRECTORY, IOCPH_E_TOO_MANY_HANDLES,
 * IOCPH_E_SHUTDOWN, IOCPH_E_BADHANDLE (port), IOCPH_E_UNKNOWN.
 */
IOCPH_API int32_t iocph_file_open(iocph_port_t port, const char *path_utf8, uint32_t flags,
                                  uint64_t key, iocph_handle_t *file);

/*
 * Reads up to `length` bytes at `offset`. Completion result: bytes read, 0 at or past the end of
 * the file. length must be 1..IOCPH_MAX_IO_LENGTH, offset <= INT64_MAX. *op (may be NULL)
 * receives the operation's value for iocph_op_cancel; it is written before the function returns,
 * possibly after the completion was already delivered.
 * Errors: IOCPH_E_INVALID_ARGUMENT, IOCPH_E_ALIGNMENT, IOCPH_E_BADHANDLE (closed, stale, not a
 * file), IOCPH_E_ACCESS_DENIED (not opened for reading), IOCPH_E_SHUTDOWN, IOCPH_E_NOMEM.
 */
IOCPH_API int32_t iocph_file_read(iocph_handle_t file, void *buffer, uint32_t length,
                                  uint64_t offset, uint64_t user_data, iocph_op_t *op);

/* Writes `length` bytes at `offset`; same rules as iocph_file_read (ACCESS_DENIED when not opened
 * for writing). Completion result: bytes written. */
IOCPH_API int32_t iocph_file_write(iocph_handle_t file, const void *buffer, uint32_t length,
                                   uint64_t offset, uint64_t user_data, iocph_op_t *op);

/* Flushes the file to the device (fsync / FlushFileBuffers). Completion result: 0. */
IOCPH_API int32_t iocph_file_flush(iocph_handle_t file, uint64_t user_data, iocph_op_t *op);

/* The file's current length in bytes (synchronous). */
IOCPH_API int32_t iocph_file_get_length(iocph_handle_t file, uint64_t *length);

/* ---------------------------------------------------------------------------------------------
 * Pipes: a connected, one-way byte stream (on Windows an overlapped named-pipe pair, since
 * anonymous pipes cannot do overlapped I/O; on Linux a socket pair used one way). Reads wait
 * until data arrives, which makes them the simplest way to test cancellation.
 * ------------------------------------------------------------------------------------------ */

/* Creates a pipe; both ends are associated with the port under `key`. */
IOCPH_API int32_t iocph_pipe_create(iocph_port_t port, uint64_t key, iocph_handle_t *read_end,
                                    iocph_handle_t *write_end);

/* Reads 1..length bytes (whatever is available). Result 0: the write end was closed. */
IOCPH_API int32_t iocph_pipe_read(iocph_handle_t read_end, void *buffer, uint32_t length,
                                  uint64_t user_data, iocph_op_t *op);

/* Writes length bytes. Result: bytes written (the whole length unless cancelled);
 * IOCPH_E_BROKEN_PIPE if the read end was closed. Never raises SIGPIPE. */
IOCPH_API int32_t iocph_pipe_write(iocph_handle_t write_end, const void *buffer, uint32_t length,
                                   uint64_t user_data, iocph_op_t *op);

/* ---------------------------------------------------------------------------------------------
 * Sockets: TCP and UDP over IPv4 and IPv6. Every socket is a handle of the port it was made on;
 * iocph_handle_close, iocph_op_cancel and iocph_handle_cancel_all work on it as on any handle.
 *
 * Per-operation timeouts: every socket operation takes timeout_ms (0 = none). An operation still
 * in flight when it expires completes with IOCPH_E_TIMEOUT (io_uring: a linked timeout; IOCP: the
 * port's timer cancels it; epoll: the worker's timeout heap). The time counts from the call. Bytes a timed-out or cancelled send
 * may already have passed to the kernel are not reported (the completion carries the error, not a
 * partial count); treat the connection as broken.
 *
 * Ordering: sends on one TCP socket go out in the order they were started, whole, never
 * interleaved; receives are filled in the order they were started. A timeout may fire late while
 * the operation waits behind an earlier one of the same direction (io_uring), never early.
 *
 * Endpoints: an IPv6 socket takes IPv4 endpoints as IPv4-mapped addresses (::ffff:a.b.c.d), which
 * reach IPv4 peers only if it was made with IOCPH_SOCKET_DUAL_MODE; an IPv4 socket refuses IPv6
 * endpoints with IOCPH_E_INVALID_ARGUMENT. A socket handle may not be used with the file or pipe
 * functions, nor a TCP socket with the UDP ones or the reverse (IOCPH_E_BADHANDLE).
 * ------------------------------------------------------------------------------------------ */

typedef enum iocph_address_family {
    IOCPH_AF_UNSPEC = 0,
    IOCPH_AF_INET = 4,  /* IPv4 */
    IOCPH_AF_INET6 = 6  /* IPv6 */
} iocph_address_family;

/* An IP endpoint, the same 24 bytes on every platform. */
typedef struct iocph_endpoint {
    uint16_t family;     /* iocph_address_family */
    uint16_t port;       /* host byte order */
    uint32_t scope_id;   /* IPv6 scope (interface index), else 0 */
    uint8_t address[16]; /* network byte order: IPv4 in the first 4 bytes, IPv6 all 16 */
} iocph_endpoint;

/* One buffer of a gather send or scatter receive. Entries may be empty (length 0, data then
 * ignored); the total must be 1..IOCPH_MAX_IO_LENGTH. */
typedef struct iocph_buffer {
    void *data;
    uint32_t length;
    uint32_t reserved; /* must be 0 */
} iocph_buffer;

/* The most buffers one gather send / scatter receive takes (the array is copied at the call). */
#define IOCPH_MAX_BUFFERS 16

typedef enum iocph_socket_flags {
    IOCPH_SOCKET_NONE = 0,
    IOCPH_SOCKET_REUSE_ADDRESS = 0x1, /* SO_REUSEADDR before bind */
    IOCPH_SOCKET_DUAL_MODE = 0x2      /* IPv6 sockets also take IPv4 (IPV6_V6ONLY off); without
                                         it an IPv6 socket is IPv6-only on every OS. Refused
                                         (INVALID_ARGUMENT) for an IPv4 endpoint. */
} iocph_socket_flags;

/*
 * Creates a TCP socket bound to `local` (port 0: the system picks one; iocph_socket_get_endpoint
 * tells which) and listening with `backlog` (<= 0: the system maximum).
 * Errors: IOCPH_E_INVALID_ARGUMENT, IOCPH_E_ADDRESS_IN_USE, IOCPH_E_ADDRESS_NOT_AVAILABLE,
 * IOCPH_E_ACCESS_DENIED, IOCPH_E_BADHANDLE (port), IOCPH_E_SHUTDOWN, IOCPH_E_TOO_MANY_HANDLES.
 */
IOCPH_API int32_t iocph_tcp_listen(iocph_port_t port, const iocph_endpoint *local, int32_t backlog,
                                   uint32_t flags, uint64_t key, iocph_handle_t *listener);

/* What an accept fills in when it completes. */
typedef struct iocph_accept_result {
    iocph_handle_t socket;  /* the accepted connection, owned by the caller (close it) */
    iocph_endpoint remote;  /* the peer's endpoint */
} iocph_accept_result;

/*
 * Accepts one connection (Windows: AcceptEx on a pre-created overlapped socket, then
 * SO_UPDATE_ACCEPT_CONTEXT; Linux: io_uring accept, or accept4 on readiness with epoll). Several
 * accepts may be outstanding. `result` (not NULL) must stay valid until the completion; on result 0 it holds the new socket,
 * associated with the listener's port under `key` (the accept's own completion carries the
 * listener's key). A cancelled, timed-out or failed accept leaves no socket; an accept whose
 * connection arrived just before a cancel or timeout completes with 0 and the socket.
 */
IOCPH_API int32_t iocph_tcp_accept(iocph_handle_t listener, uint64_t key,
                                   iocph_accept_result *result, uint32_t timeout_ms,
                                   uint64_t user_data, iocph_op_t *op);

/*
 * Creates a TCP socket and connects it to `remote` (Windows: ConnectEx after binding; Linux:
 * io_uring connect, or a nonblocking connect with epoll), bound first to `local` if not NULL
 * (same family as remote). remote->port must not be 0. When the function returns 0, *socket is the new handle at once, owned by the
 * caller whatever the completion says (close it also when the connect fails); when it returns an
 * error, *socket is 0 and nothing is left to close. Completion result: 0, or
 * IOCPH_E_CONNECTION_REFUSED, IOCPH_E_HOST_UNREACHABLE, IOCPH_E_NETWORK_UNREACHABLE,
 * IOCPH_E_TIMEOUT, IOCPH_E_CANCELED, ...
 */
IOCPH_API int32_t iocph_tcp_connect(iocph_port_t port, const iocph_endpoint *remote,
                                    const iocph_endpoint *local, uint64_t key,
                                    uint32_t timeout_ms, uint64_t user_data,
                                    iocph_handle_t *socket, iocph_op_t *op);

/*
 * Sends `length` bytes on a connected TCP socket; completes only when all of them are sent (short
 * sends continue inside the library) or on error. Never raises SIGPIPE.
 * Errors at completion: IOCPH_E_CONNECTION_RESET, IOCPH_E_CONNECTION_ABORTED, IOCPH_E_BROKEN_PIPE
 * (after iocph_socket_shutdown_send or the peer closed), IOCPH_E_TIMEOUT, IOCPH_E_CANCELED.
 */
IOCPH_API int32_t iocph_socket_send(iocph_handle_t socket, const void *buffer, uint32_t length,
                                    uint32_t timeout_ms, uint64_t user_data, iocph_op_t *op);

/*
 * Receives 1..length bytes. Result 0: the peer closed its sending side in order.
 * length 0 waits for data without taking any (buffer is then ignored and may be NULL): it completes
 * with 0 once bytes are there to receive or the peer closed its side, and with the error a receive
 * would meet (IOCPH_E_CONNECTION_RESET, ...); nothing is read and no buffer is held while it
 * waits, so a server can keep an idle connection without memory for it and take a buffer when
 * the wait completes. Timeouts, cancellation and ordering as for any receive.
 */
IOCPH_API int32_t iocph_socket_receive(iocph_handle_t socket, void *buffer, uint32_t length,
                                       uint32_t timeout_ms, uint64_t user_data, iocph_op_t *op);

/* Gather send of 1..IOCPH_MAX_BUFFERS buffers (WSASend with WSABUFs / sendmsg with iovecs): the
 * array is copied before the function returns, the memory it points to must stay valid until the
 * completion. Completes when every byte is sent. */
IOCPH_API int32_t iocph_socket_send_gather(iocph_handle_t socket, const iocph_buffer *buffers,
                                           uint32_t count, uint32_t timeout_ms,
                                           uint64_t user_data, iocph_op_t *op);

/* Scatter receive into 1..IOCPH_MAX_BUFFERS buffers (filled in order). Result 0: peer closed. */
IOCPH_API int32_t iocph_socket_receive_scatter(iocph_handle_t socket, const iocph_buffer *buffers,
                                               uint32_t count, uint32_t timeout_ms,
                                               uint64_t user_data, iocph_op_t *op);

/* Half-close: shuts down the sending side (the peer's receive returns 0). Synchronous. */
IOCPH_API int32_t iocph_socket_shutdown_send(iocph_handle_t socket);

/* ---------------------------------------------------------------------------------------------
 * Held wake-ups: a hint for a thread about to start a burst of operations (for instance while it
 * runs the continuations of a batch of completions). Between iocph_thread_hold_wakeups() and
 * iocph_thread_release_wakeups() the operations it starts may wait for the release before they
 * reach the OS, so that a worker is woken once per burst rather than once per operation. Holds
 * nest (the outermost release counts) and the release must come, on the same thread; a holder
 * that blocks before it only delays its operations (by about a millisecond at most), never loses
 * them. iocph_thread_hold_wakeups_and_reap() holds the same way and also lets the library deliver
 * completions of operations the holder started to their ports' callbacks on this thread, inside
 * the outermost release: those callbacks must be able to run there, and a port's callback may then
 * run on more threads at once than it has workers. Deliveries stay exactly once. IOCP, where the
 * starting thread queues to the kernel itself, ignores both; epoll holds but never reaps.
 * ------------------------------------------------------------------------------------------ */

IOCPH_API void iocph_thread_hold_wakeups(void);
IOCPH_API void iocph_thread_hold_wakeups_and_reap(void);
IOCPH_API void iocph_thread_release_wakeups(void);

/* ---------------------------------------------------------------------------------------------
 * Immediate attempts. Each does its work on the calling thread when it can finish without waiting
 * (one nonblocking system call) and otherwise returns IOCPH_E_WOULD_BLOCK having consumed nothing.
 * No completion is ever delivered for them. They exist for the common case that needs no wait (a
 * send into a socket buffer with room, a read of a page already cached): a trip through the port
 * costs a hand-over between threads, which is far more than the system call.
 * Pattern: try; on IOCPH_E_WOULD_BLOCK (or a partial send) start the asynchronous operation for
 * what is left. A backend may decline whenever the asynchronous operation is as cheap as the
 * attempt (IOCP declines sends and file reads: Windows has no nonblocking read of cached file data
 * and its sockets are in overlapped mode; io_uring declines inside a callback of the worker that
 * owns the handle), so code written this way is portable and correct everywhere.
 * Rules: never while an asynchronous operation of the same direction (send / receive) is in flight
 * on the socket, since their bytes would interleave; positional file reads have no such rule.
 * Errors: as the asynchronous operation's (IOCPH_E_BADHANDLE, IOCPH_E_SHUTDOWN, connection errors,
 * IOCPH_E_ACCESS_DENIED, IOCPH_E_ALIGNMENT, ...), reported at once.
 * ------------------------------------------------------------------------------------------ */

/* Sends up to `length` bytes on a connected TCP socket without waiting: IOCPH_OK with *sent in
 * 1..length (fewer when the socket buffer filled up), or IOCPH_E_WOULD_BLOCK with nothing sent. */
IOCPH_API int32_t iocph_socket_try_send(iocph_handle_t socket, const void *buffer, uint32_t length,
                                        uint32_t *sent);

/* Receives 1..length bytes that have already arrived: IOCPH_OK with *received (0: the peer closed
 * its sending side), or IOCPH_E_WOULD_BLOCK when nothing is there yet. */
IOCPH_API int32_t iocph_socket_try_receive(iocph_handle_t socket, void *buffer, uint32_t length,
                                           uint32_t *received);

/* Reads `length` bytes at `offset` if every one of them is in the page cache (preadv2 with
 * RWF_NOWAIT): IOCPH_OK with *transferred = length, or fewer only at the end of the file; else
 * IOCPH_E_WOULD_BLOCK (the buffer's contents are then unspecified). Same argument rules as
 * iocph_file_read. Unbuffered files always answer IOCPH_E_WOULD_BLOCK: nothing of theirs is cached. */
IOCPH_API int32_t iocph_file_try_read(iocph_handle_t file, void *buffer, uint32_t length,
                                      uint64_t offset, uint32_t *transferred);

/* Accepts a connection that is already waiting in the listener's backlog: IOCPH_OK with
 * result->socket (associated with the listener's port under `key`, owned by the caller) and
 * result->remote, or IOCPH_E_WOULD_BLOCK when none is waiting (IOCP always declines: its
 * accepts are AcceptEx's). For an accept loop that takes a burst of connections at once instead
 * of one per completion. May be called while asynchronous accepts are outstanding on the
 * listener; which of them gets a given connection is unspecified. */
IOCPH_API int32_t iocph_tcp_try_accept(iocph_handle_t listener, uint64_t key,
                                       iocph_accept_result *result);

typedef enum iocph_endpoint_kind { IOCPH_ENDPOINT_LOCAL = 0, IOCPH_ENDPOINT_REMOTE = 1 } iocph_endpoint_kind;

/* The socket's local or remote endpoint (IOCPH_E_NOT_CONNECTED for the remote of an unconnected
 * socket, a listener or a UDP socket). Works on listeners, TCP and UDP sockets. */
IOCPH_API int32_t iocph_socket_get_endpoint(iocph_handle_t socket, int32_t which,
                                            iocph_endpoint *endpoint);

typedef enum iocph_socket_option {
    IOCPH_SOCKOPT_NO_DELAY = 1,       /* TCP_NODELAY: 0/1 */
    IOCPH_SOCKOPT_KEEP_ALIVE = 2,     /* SO_KEEPALIVE: 0/1 */
    IOCPH_SOCKOPT_SEND_BUFFER = 3,    /* SO_SNDBUF: bytes >= 0 (Linux reports double what was
                                         set) */
    IOCPH_SOCKOPT_RECEIVE_BUFFER = 4, /* SO_RCVBUF: bytes (likewise) */
    IOCPH_SOCKOPT_LINGER = 5,         /* SO_LINGER: seconds, -1 = off; 0 = reset on close */
    IOCPH_SOCKOPT_REUSE_ADDRESS = 6   /* SO_REUSEADDR: 0/1 */
} iocph_socket_option;

/* Sets / reads an option. IOCPH_E_INVALID_ARGUMENT for an unknown option or a value out of range,
 * IOCPH_E_UNSUPPORTED for a TCP option on a UDP socket. */
IOCPH_API int32_t iocph_socket_set_option(iocph_handle_t socket, int32_t option, int32_t value);
IOCPH_API int32_t iocph_socket_get_option(iocph_handle_t socket, int32_t option, int32_t *value);

/* Creates a UDP socket bound to `local` (port 0: any). */
IOCPH_API int32_t iocph_udp_bind(iocph_port_t port, const iocph_endpoint *local, uint32_t flags,
                                 uint64_t key, iocph_handle_t *socket);

/* Sends one datagram of 1..IOCPH_MAX_IO_LENGTH bytes (`remote` is copied; its port must not be
 * 0). Result: bytes sent; IOCPH_E_MESSAGE_TOO_LARGE beyond what UDP carries. */
IOCPH_API int32_t iocph_udp_send_to(iocph_handle_t socket, const void *buffer, uint32_t length,
                                    const iocph_endpoint *remote, uint32_t timeout_ms,
                                    uint64_t user_data, iocph_op_t *op);

/* Receives one datagram; `remote` (valid until the completion; NULL if the sender is not wanted)
 * receives the sender. Result: bytes stored; when the datagram was longer than `length`, the rest
 * is discarded and the completion carries IOCPH_COMPLETION_TRUNCATED. */
IOCPH_API int32_t iocph_udp_receive_from(iocph_handle_t socket, void *buffer, uint32_t length,
                                         iocph_endpoint *remote, uint32_t timeout_ms,
                                         uint64_t user_data, iocph_op_t *op);

#ifdef __cplusplus
}
#endif

#endif /* IOCPHYBRID_H */
