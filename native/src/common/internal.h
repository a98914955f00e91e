/*
 * internal.h - the portable core's objects and the interface every backend implements.
 *
 * Ownership in one paragraph: the public functions (common/api_*.c) validate arguments, look up
 * generation-checked values in the handle table (common/table.c), take an operation from the
 * port's pool (common/op_pool.c) and hand it to the backend (iocph__backend.op_submit). The
 * backend gives the operation back exactly once, through iocph__op_finish() + iocph__deliver()
 * (or the pull queue), after the OS has finished with its memory.
 *
 * Reference counting: every live port and handle sits in a table slot whose 64-bit state word
 * holds its generation, a "closing" bit and a reference count (table.h). Each operation in flight
 * holds one reference on its handle; each handle holds one on its port. The OS handle is closed
 * and the object freed by the last release, so an fd/HANDLE number is never reused while an
 * operation or a cancel could still target it.
 */
#ifndef IOCPH_INTERNAL_H
#define IOCPH_INTERNAL_H

#include "iocphybrid.h"
#include "sync.h"
#include "table.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOCPH__CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct iocph__port iocph__port;
typedef struct iocph__handle iocph__handle;
typedef struct iocph__op iocph__op;
typedef struct iocph__backend iocph__backend;

/* ---- value kinds (stored in the opaque 64-bit values, see table.h) ---- */
enum {
    IOCPH__KIND_PORT = 1,
    IOCPH__KIND_FILE = 2,
    IOCPH__KIND_PIPE_READ = 3,
    IOCPH__KIND_PIPE_WRITE = 4,
    IOCPH__KIND_TCP_LISTENER = 5,
    IOCPH__KIND_TCP = 6, /* a connected (or connecting) TCP socket */
    IOCPH__KIND_UDP = 7
};

/* ---- operations ---- */
enum {
    IOCPH__OP_FREE = 0,
    IOCPH__OP_READ = 1,  /* file read at offset */
    IOCPH__OP_WRITE = 2, /* file write at offset */
    IOCPH__OP_FLUSH = 3,
    IOCPH__OP_POST = 4,       /* a user packet from iocph_port_post */
    IOCPH__OP_PIPE_READ = 5,
    IOCPH__OP_PIPE_WRITE = 6, /* completes only when all bytes are written (or on error) */
    IOCPH__OP_ACCEPT = 7,     /* op->sock->accept_out / accept_key */
    IOCPH__OP_CONNECT = 8,    /* op->sock->endpoint is the remote */
    IOCPH__OP_SEND = 9,       /* iocph__op_buffers(op->sock): completes when all are sent */
    IOCPH__OP_RECEIVE = 10,   /* iocph__op_buffers(op->sock) */
    IOCPH__OP_SEND_TO = 11,   /* buffer/length, op->sock->endpoint is the remote */
    IOCPH__OP_RECEIVE_FROM = 12 /* buffer/length, op->sock->endpoint_out gets the sender */
};

/* The socket part of an operation: a block lent to the op for its lifetime by the port's pool
 * (iocph__op_pool.sock_free) and given back when the op returns to the pool, so that the blocks
 * a port holds follow the socket ops in flight, not the slots that ever served one (no malloc
 * per operation in steady state all the same). A wait for data without a timeout takes none
 * (op->sock NULL, see iocph__op_wants_socket_block): it has no buffers, no address and no
 * timer, and an idle connection's pending wait is what a server holds most of. The backend's
 * own per-op socket state (backend->op_ext_size bytes: WSABUF/iovec arrays, msghdr, AcceptEx
 * buffer, timeout timer) follows it in the same block: iocph__op_socket_backend(op). */
typedef struct iocph__op_socket {
    /* What one kind of op needs and no other kind touches: one union, 24 bytes instead of 48
     * (every pending receive of an idle connection carries this block). socket_op_begin zeroes
     * it; nothing may write a member its op's kind does not own (IOCP's submit once zeroed
     * `progress` for every kind, which would now clobber a connect's endpoint). */
    union {
        iocph_endpoint endpoint;          /* CONNECT, SEND_TO: the remote (copied) */
        iocph_endpoint *endpoint_out;     /* RECEIVE_FROM: the sender, written at completion */
        struct {
            iocph_accept_result *accept_out; /* ACCEPT: written at completion */
            uint64_t accept_key;             /* ACCEPT: completion key of the accepted socket */
        };
        uint64_t progress;                /* SEND: bytes sent so far (continued on short sends) */
        struct iocph__op_socket *next_free; /* lent to no op: the pool's free list */
    };
    uint32_t timeout_ms;              /* 0 = none */
    uint32_t buffer_count;            /* SEND, RECEIVE: 1..IOCPH_MAX_BUFFERS */
    /* SEND, RECEIVE: the buffers are iocph__op_buffers(s): one, or gather for more than one
     * (no pointer to them here: 8 bytes that took the block over a malloc size class). */
    iocph_buffer one;                 /* the buffer of a one-buffer send or receive */
    /* IOCPH_MAX_BUFFERS entries, allocated the first time the block serves a gather send or a
     * scatter receive, kept and freed with it: a one-buffer op (an idle connection's pending
     * receive) carries no 256-byte array. 10,000 idle connections, bytes per connection, C / C#
     * server: 4,876 / 5,756 with the array in every block, 4,652 / 5,621 without. */
    iocph_buffer *gather;
    void *backend_extra;              /* backend state only some ops need, kept with the block
                                         and freed with it (io_uring: iocph__uring_sock_wide) */
} iocph__op_socket;

/* A SEND's or RECEIVE's buffers, buffer_count of them. */
static inline iocph_buffer *iocph__op_buffers(const iocph__op_socket *s)
{
    return s->buffer_count > 1 ? s->gather : (iocph_buffer *)&s->one;
}

struct iocph__op {
#ifdef _WIN32
    OVERLAPPED ov; /* first member: the IOCP backend recovers the op with IOCPH__CONTAINER_OF */
#endif
    /* The 32-bit fields come in pairs, so that no padding is left: 120 bytes, not 128 (an idle
     * connection's pending receive holds one). */
    iocph__port *port;
    iocph__handle *handle; /* NULL for posts; holds one reference while in flight */
    uint64_t user_data;
    uint64_t key;
    uint8_t *buffer;
    uint32_t length;
    uint32_t kind;       /* IOCPH__OP_* */
    uint64_t offset;
    int64_t value;       /* posted value; bytes done so far for continued pipe writes; the
                            byte a wait-for-data receive peeks at (iocph__op_waits_for_data) */
    uint32_t index;      /* slot in the port's pool */
    _Atomic uint32_t generation; /* bumped when the op returns to the pool */
    iocph__spin lock;    /* serialises iocph_op_cancel against the op returning to the pool */
    iocph__op *next;     /* free for the backend to use while the op is in flight (queues) */
    iocph__op_socket *sock; /* socket ops only, lent while the op is live; NULL for a wait for
                               data without a timeout and for every other op */
    void *backend_data;  /* free for the backend to use while the op is in flight */
    uint32_t next_free;
    uint32_t completion_flags; /* iocph_completion_flags the backend adds before iocph__op_finish
                                  (IOCPH_COMPLETION_TRUNCATED); 0 when the op is allocated */
    _Atomic uint32_t backend_state; /* free for the backend while the op is in flight (0 when
                                       allocated; io_uring: IOCPH__URING_BUSY_CANCELLED) */
    int32_t backend_error;  /* likewise (epoll: a pool thread's errno travelling to the worker) */
};

/* A positional file operation (READ, WRITE, FLUSH). */
static inline bool iocph__op_is_file_io(const iocph__op *op)
{
    return op->kind == IOCPH__OP_READ || op->kind == IOCPH__OP_WRITE || op->kind == IOCPH__OP_FLUSH;
}

/* A socket operation (ACCEPT .. RECEIVE_FROM): op->sock and its backend block are in use. */
static inline bool iocph__op_is_socket(const iocph__op *op)
{
    return op->kind >= IOCPH__OP_ACCEPT && op->kind <= IOCPH__OP_RECEIVE_FROM;
}

/* A zero-length TCP receive: it waits until data (or the end of the stream, or an error) is
 * there and completes with 0, moving no byte and pinning no buffer. Linux backends peek one byte
 * into op->value (MSG_PEEK: the data stays for the next receive); IOCP posts a zero-byte WSARecv,
 * which Windows completes the same way. */
static inline bool iocph__op_waits_for_data(const iocph__op *op)
{
    return op->kind == IOCPH__OP_RECEIVE && op->length == 0;
}

/* Whether a socket op needs a socket block. A wait for data without a timeout needs none: its
 * buffer is op->value (Linux) or a WSABUF on the issuing thread's stack (IOCP), and it has no
 * timer. Backends read op->sock of such an op as NULL. */
static inline bool iocph__op_wants_socket_block(uint32_t kind, uint32_t length, uint32_t timeout_ms)
{
    return !(kind == IOCPH__OP_RECEIVE && length == 0 && timeout_ms == 0);
}

/* A socket op's timeout (0 = none); an op without a socket block has none. */
static inline uint32_t iocph__op_timeout_ms(const iocph__op *op)
{
    return op->sock ? op->sock->timeout_ms : 0;
}

/* A pipe is a socket pair inside on Linux, but its contract speaks of broken pipes: what the
 * socket says when the other end is gone (reset: it closed with data unread; not connected)
 * becomes IOCPH_E_BROKEN_PIPE. */
static inline int64_t iocph__pipe_result(int64_t result)
{
    return result == IOCPH_E_CONNECTION_RESET || result == IOCPH_E_NOT_CONNECTED
               ? IOCPH_E_BROKEN_PIPE
               : result;
}

/* Takes a LIFO stack of ops linked through op->next (a lock-free hand-over stack, newest first)
 * and returns it oldest first, so that each producer's order is kept. */
static inline iocph__op *iocph__op_stack_fifo(iocph__op *stack)
{
    iocph__op *fifo = NULL;
    while (stack) {
        iocph__op *next = stack->next;
        stack->next = fifo;
        fifo = stack;
        stack = next;
    }
    return fifo;
}

/* The op's public value: generation in the high half, pool index in the low half. */
static inline iocph_op_t iocph__op_value(iocph__op *op)
{
    return ((uint64_t)atomic_load_explicit(&op->generation, memory_order_relaxed) << 32) | op->index;
}

/* ---- handles ---- */
struct iocph__handle {
    iocph__port *port;    /* holds one reference on the port */
    iocph_handle_t value; /* the public value */
    uint64_t key;         /* completion key */
    intptr_t os;          /* fd or HANDLE */
    iocph__handle *prev, *next; /* the port's list of open handles (under port->lock) */
    void *backend_data;
    _Atomic int closing;  /* set by iocph_handle_close before it cancels what is in flight */
    uint32_t ring;        /* backend: which ring / worker owns this handle */
    /* kind and flags are narrow so that the handle is 72 bytes, an 80-byte malloc chunk rather
     * than 96 (every connection has one). */
    uint16_t flags;       /* iocph_file_flags for files (0x7F at most), the address family for
                             sockets */
    uint8_t kind;         /* IOCPH__KIND_* */
    bool os_pipe;         /* Linux: a pipe end that is a pipe or FIFO fd (read/write), not a
                             socket (recv/send); set by iocph_handle_associate only */
    bool os_borrowed;     /* the OS handle is the caller's: handle_close_os must not close it
                             (set only when a failed iocph_handle_associate is undone) */
    bool registered;      /* in the association registry (api_associate.c) until finalized */
};

/* What a backend's handle_adopt found and did for iocph_handle_associate. */
typedef struct iocph__adopt {
    intptr_t os;          /* the OS handle the port will own: the caller's, or a duplicate */
    bool duplicated;      /* os is a duplicate the backend made */
    bool os_pipe;         /* see iocph__handle.os_pipe */
    uint32_t flags;       /* the handle's flags: iocph_file_flags, or the address family */
    uint64_t identity[2]; /* what the registry compares (Linux: st_dev, st_ino + direction or
                             fd); both 0: the OS itself refuses a second port (IOCP) */
    int restore_flags;    /* Linux: the F_GETFL value to put back if the association fails, or
                             -1 when the mode was not changed */
} iocph__adopt;

/* ---- ports ---- */
enum { IOCPH__PORT_RUNNING = 0, IOCPH__PORT_SHUTTING_DOWN = 1, IOCPH__PORT_SHUT_DOWN = 2 };

typedef struct iocph__op_pool {
    iocph__mutex lock;
    iocph__op *_Atomic *chunks; /* IOCPH__POOL_CHUNKS pointers, filled lazily, freed with the port */
    uint32_t chunk_count;
    uint32_t free_head; /* index + 1 of the first free op, 0 = none */
    /* Socket blocks lent to no op (linked through next_free), and how many the port has made:
     * at most the peak of socket ops in flight with a block at once. The list is under `lock`,
     * which an op takes anyway when it is allocated and freed: lending and returning cost no lock
     * of their own; the count is atomic, so making a block takes no second lock. Freed with the
     * pool. */
    iocph__op_socket *sock_free;
    _Atomic uint64_t sock_blocks;
} iocph__op_pool;

#define IOCPH__POOL_CHUNK_SHIFT 8
#define IOCPH__POOL_CHUNK_OPS (1u << IOCPH__POOL_CHUNK_SHIFT)
#define IOCPH__POOL_CHUNKS (IOCPH_MAX_OPS / IOCPH__POOL_CHUNK_OPS)

/* The pull queue: completions waiting for iocph_port_dequeue (backends without a native one). */
typedef struct iocph__pull_queue {
    iocph__mutex lock;
    iocph__cond ready;
    iocph_completion *entries; /* ring buffer, grows */
    uint32_t capacity, head, count;
    uint32_t waiters;
} iocph__pull_queue;

struct iocph__port {
    const iocph__backend *backend;
    iocph_port_t value;
    int32_t backend_id;       /* iocph_backend actually used */
    int32_t backend_reason;   /* iocph_backend_reason: why this backend (backend_choice.c) */
    int32_t backend_os_error; /* the errno behind a fallback, else 0 */
    uint32_t worker_threads;  /* resolved (never 0 in push mode) */
    uint32_t concurrency;     /* resolved */
    uint32_t queue_depth;     /* resolved */
    uint32_t max_batch;       /* resolved */
    iocph_completion_callback callback; /* NULL: pull mode */
    void *callback_context;

    _Atomic int state;        /* IOCPH__PORT_* */
    iocph__mutex lock;        /* handles list, drained */
    iocph__mutex shutdown_lock; /* serialises iocph_port_shutdown callers */
    bool started;             /* backend->port_start succeeded: port_free is due */
    iocph__cond drained;      /* signalled when ops_in_flight reaches 0 while shutting down */
    iocph__handle *handles;   /* open handles */
    iocph__sem callback_slots;/* concurrency cap for callbacks */
    iocph__op_pool pool;
    iocph__pull_queue pull;

    _Atomic uint64_t ops_in_flight;
    _Atomic uint64_t ops_started;
    _Atomic uint64_t completions_delivered;
    _Atomic uint64_t callback_batches;
    _Atomic uint64_t handles_open;
    _Atomic uint64_t os_waits;

    void *backend_data;
};

/* ---- the backend interface: one instance per backend, same names everywhere ---- */
struct iocph__backend {
    int32_t id;       /* iocph_backend */
    const char *name;
    /* Whether the backend can run in this process: IOCPH_OK, or IOCPH_E_UNSUPPORTED with
     * *reason (iocph_backend_reason) and *os_error. NULL: it always can. */
    int32_t (*probe)(int32_t *reason, int32_t *os_error);
    /* Creates the OS queue(s) and starts port->worker_threads workers (push mode) or whatever
     * pull mode needs. On error everything it made is undone. */
    int32_t (*port_start)(iocph__port *port);
    /* Queues a POST op (already counted in flight); it is delivered like an I/O completion. */
    int32_t (*port_post)(iocph__port *port, iocph__op *op);
    /* Pull mode: the GetQueuedCompletionStatusEx equivalent (see iocph_port_dequeue). */
    int32_t (*port_dequeue)(iocph__port *port, iocph_completion *entries, uint32_t max,
                            uint32_t timeout_ms, uint32_t *count);
    /* Posts one wake-up per worker, joins them, and (pull mode) wakes every dequeuer for good. */
    void (*port_stop)(iocph__port *port);
    /* Frees what port_start made (workers are already stopped, nothing is in flight). */
    void (*port_free)(iocph__port *port);

    /* Opens a file; *os receives the fd / HANDLE. Flags already validated. */
    int32_t (*file_open)(iocph__port *port, const char *path_utf8, uint32_t flags, intptr_t *os);
    int32_t (*file_length)(iocph__handle *handle, uint64_t *length);
    /* Creates a connected one-way pipe: *read_os, *write_os. */
    int32_t (*pipe_create)(iocph__port *port, intptr_t *read_os, intptr_t *write_os);
    /* Associates a new handle (h->os set) with the port (CreateIoCompletionPort, ring choice). */
    int32_t (*handle_attach)(iocph__port *port, iocph__handle *handle);
    /* Closes h->os (unless h->os_borrowed) and frees what handle_attach made. Called once, by
     * the last release, when nothing is in flight on it. */
    void (*handle_close_os)(iocph__handle *handle);
    /* iocph_handle_associate, first step: checks that `os` is an open handle of `kind`
     * (IOCPH__KIND_*) this backend can serve (changing nothing when it is not), then duplicates
     * it if asked and puts it in the mode the backend needs. Fills *adopt. On error nothing is
     * changed and nothing is left open. */
    int32_t (*handle_adopt)(iocph__port *port, uint32_t kind, intptr_t os, bool duplicate,
                            iocph__adopt *adopt);
    /* Undoes a successful handle_adopt when the association fails later: restores the mode,
     * closes a duplicate. */
    void (*handle_unadopt)(iocph__port *port, uint32_t kind, const iocph__adopt *adopt);

    /* Starts op (READ, WRITE, FLUSH, PIPE_READ, PIPE_WRITE). Returns 0 and later delivers exactly
     * one completion, or returns an error and never delivers one (the caller frees the op). */
    int32_t (*op_submit)(iocph__op *op);
    /* Requests cancellation of op, an op of `handle` that was live at `generation` (seen under
     * op->lock, which is released again before this call: that lock is for a few instructions,
     * not for allocations, mutexes or system calls). The op may have finished and been reused
     * since: the backend acts only while op->generation still equals `generation`, taking
     * op->lock itself if what it does must not reach a later incarnation (IOCP's CancelIoEx).
     * The caller holds a reference on `handle`. */
    int32_t (*op_cancel)(iocph__handle *handle, iocph__op *op, uint32_t generation);
    /* Requests cancellation of every op in flight on the handle. */
    int32_t (*handle_cancel_all)(iocph__handle *handle);
    /* The end of a thread's hold on worker `worker` (hold.c): undo what the backend counted when
     * the hold began, and wake the worker if a wake-up was held back (`pending`). NULL if the
     * backend never holds wake-ups. */
    void (*worker_release)(iocph__port *port, uint32_t worker, bool pending, bool reaper);
    /* An immediate attempt (iocph_*_try_*): op_kind READ, SEND or RECEIVE, arguments checked.
     * IOCPH_OK with *done, IOCPH_E_WOULD_BLOCK, or an error; never waits, never completes later. */
    int32_t (*try_io)(iocph__handle *handle, int op_kind, void *buffer, uint32_t length,
                      uint64_t offset, uint32_t *done);
    /* An immediate accept (iocph_tcp_try_accept) on a listener: IOCPH_OK with *os, the accepted
     * OS socket in the mode the backend's sockets need, and the peer's address in `sockaddr`
     * (*sockaddr_len bytes, 0 if unknown); IOCPH_E_WOULD_BLOCK when no connection is waiting; or
     * an error. Never waits. NULL: the backend always declines. */
    int32_t (*try_accept)(iocph__handle *listener, intptr_t *os, void *sockaddr,
                          int *sockaddr_len);

    /* ---- sockets ---- */
    /* Bytes of backend state each socket op needs after its iocph__op_socket. */
    size_t op_ext_size;
    /* Creates an unbound socket for the port (family AF_INET/AF_INET6) that is to become a
     * `kind` (IOCPH__KIND_TCP_LISTENER, _TCP or _UDP): overlapped on Windows, close-on-exec on
     * Linux, in the mode the backend needs for that kind. Binding, listening and options are
     * done by the common code (common/socket_sys.c). */
    int32_t (*socket_create)(iocph__port *port, uint32_t kind, int family, intptr_t *os);
    /* ACCEPT, CONNECT, SEND, RECEIVE, SEND_TO, RECEIVE_FROM also go through op_submit, with
     * op->sock->timeout_ms applied (IOCPH_E_TIMEOUT when it expires); op->sock is NULL for a wait
     * for data without a timeout (iocph__op_wants_socket_block). An accept that completes
     * publishes the new socket with iocph__accept_publish before delivering. */
};

#ifdef _WIN32
extern const iocph__backend iocph__backend_iocp;
#else
extern const iocph__backend iocph__backend_io_uring;
extern const iocph__backend iocph__backend_epoll;
#endif

/* ---- choosing a backend (common/backend_choice.c) ---- */
/* Resolves the options' backend (and IOCPH_BACKEND) and starts it on port: DEFAULT takes the
 * first backend of this OS whose probe and port_start succeed, recording why it skipped any;
 * a named backend is started or refused (IOCPH_E_UNSUPPORTED). Sets port->backend, backend_id,
 * backend_reason and backend_os_error. */
int32_t iocph__backend_start(iocph__port *port, int32_t requested);

/* ---- the operation pool (common/op_pool.c) ---- */
int32_t iocph__pool_init(iocph__op_pool *pool, uint32_t initial_ops);
void iocph__pool_destroy(iocph__op_pool *pool);
/* Takes a free op (kind FREE, fields zeroed but index/generation, sock NULL). NULL when
 * IOCPH_MAX_OPS are in flight or memory is exhausted. */
iocph__op *iocph__op_alloc(iocph__port *port);
/* The same, with a socket block lent to it (op->sock: iocph__op_socket + backend->op_ext_size
 * bytes, zeroed when it was made, else as the previous op left it) when sock_block is set.
 * NULL also when the block cannot be made. */
iocph__op *iocph__op_alloc_with(iocph__port *port, bool sock_block);
/* Returns an op to the pool (and its socket block to the port's free list): bumps its
 * generation so its public value goes stale. */
void iocph__op_free(iocph__op *op);
/* Test hook (exported, not in the public header; tests/native/test_hooks.h): *made, the socket
 * blocks the port has made; *idle, those no op holds. */
IOCPH_API int32_t iocph__test_socket_blocks(iocph_port_t port, uint64_t *made, uint64_t *idle);
/* Finds the live op behind a public value and returns it with op->lock held (the caller unlocks
 * with iocph__spin_unlock), or NULL if the value is stale or forged. */
iocph__op *iocph__op_lock_live(iocph__port *port, iocph_op_t value);
/* The op in pool slot `index` (live or not), or NULL if the pool never had that slot. Slots
 * stay where they are until the port is freed. */
iocph__op *iocph__op_at(iocph__port *port, uint32_t index);

/* ---- what backends call (implemented in common/) ---- */

/* Fills *entry from op and the outcome (flags: op->completion_flags), returns op to the pool and releases its handle
 * reference (which may close the OS handle). Does not touch ops_in_flight: iocph__deliver or the
 * pull queue does, once the user has the completion. */
void iocph__op_finish(iocph__op *op, int64_t result, int32_t os_error, iocph_completion *entry);

/* Hands a batch to the user: push mode calls the callback (capped by the concurrency value);
 * pull mode appends to the pull queue. Updates the statistics and ops_in_flight. */
void iocph__deliver(iocph__port *port, const iocph_completion *entries, uint32_t count);

/* count operations left flight (delivered, or refused before reaching the OS); wakes a shutdown
 * waiting for the port to drain. */
void iocph__ops_done(iocph__port *port, uint32_t count);

/* Held wake-ups (hold.c), for a backend about to wake worker `worker` of port for an operation:
 * NULL when the calling thread holds nothing (wake as usual); otherwise the hold's "owed" flag for
 * that worker, to set when a wake-up is really held back (the release then delivers it). *first
 * says this is the hold's first operation for the worker: the backend counts the holder then,
 * and worker_release undoes it; *reaper, that the hold offered to reap
 * (iocph_thread_hold_wakeups_and_reap; set with *first, and passed again to worker_release). */
bool *iocph__wake_hold(iocph__port *port, uint32_t worker, bool *first, bool *reaper);

/* Counts completions handed to the user by a backend's own pull-mode dequeue. */
void iocph__note_dequeued(iocph__port *port, uint32_t count);

/* The pull queue's dequeue, for backends without a native one. */
int32_t iocph__pull_dequeue(iocph__port *port, iocph_completion *entries, uint32_t max,
                            uint32_t timeout_ms, uint32_t *count);
/* Wakes every pull-queue waiter (after the port is shut down). */
void iocph__pull_wake_all(iocph__port *port);

/* The thread's port whose callback it is running, or NULL. */
iocph__port *iocph__current_callback_port(void);

/* Error mapping: raw OS codes to IOCPH_E_* (common/errors.c). */
#ifdef _WIN32
int32_t iocph__map_win32(unsigned long error);
#else
int32_t iocph__map_errno(int error);
#endif

/* The backend's part of a socket op's extension block; NULL for an op without one. */
static inline void *iocph__op_socket_backend(iocph__op *op)
{
    return op->sock ? (void *)(op->sock + 1) : NULL;
}

/* Accept completion: wraps the accepted OS socket into a handle of the listener's port under
 * op->sock->accept_key and fills op->sock->accept_out (socket and remote). Returns 0, or an error
 * code (the OS socket is then closed) that becomes the accept's result. Call on the thread that
 * finishes the op, before iocph__op_finish. */
int32_t iocph__accept_publish(iocph__op *op, intptr_t os, const void *sockaddr, int sockaddr_len);

/* sockaddr (struct sockaddr_in / sockaddr_in6) <-> iocph_endpoint (common/endpoint.c).
 * to_sockaddr returns the length used, or 0 if the endpoint is invalid. */
int iocph__endpoint_to_sockaddr(const iocph_endpoint *ep, void *storage, int storage_len);
int32_t iocph__endpoint_from_sockaddr(const void *sockaddr, int len, iocph_endpoint *ep);

/* Environment variable lookup (NULL if unset). */
const char *iocph__getenv(const char *name);

#endif
