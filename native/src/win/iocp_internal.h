/*
 * iocp_internal.h - what the files of the IOCP backend (native/src/win) share.
 *
 * Every packet the backend's completion port carries is told apart by its IOCP completion key,
 * never by the user's key (that one travels in op->key):
 *   KEY_IO       a real I/O completion of a handle attached with this key; the NTSTATUS is in
 *                op->ov.Internal and the byte count in the dequeued entry;
 *   KEY_OUTCOME  a packet the backend posted itself with an op's OVERLAPPED, for an operation
 *                that finished without a packet of its own (user posts, flush, immediate EOF,
 *                synchronous success with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS): its outcome is
 *                stashed in op->ov.Internal / InternalHigh, which the OS no longer uses;
 *   KEY_WAKE     push mode: the worker that receives it exits (port_stop posts one per worker);
 *   KEY_SHUTDOWN pull mode: "sticky": every dequeuer that receives it posts it again, so all
 *                of them wake up and report IOCPH_E_SHUTDOWN.
 */
#ifndef IOCPH_IOCP_INTERNAL_H
#define IOCPH_IOCP_INTERNAL_H

#include "internal.h"
#include "timer_heap.h"

#include <mswsock.h>
#include <ws2tcpip.h>

enum {
    IOCPH__WIN_KEY_IO = 1,
    IOCPH__WIN_KEY_OUTCOME = 2,
    IOCPH__WIN_KEY_WAKE = 3,
    IOCPH__WIN_KEY_SHUTDOWN = 4
};

/* mingw-w64's winerror.h lacks some codes Wine returns. */
#ifndef ERROR_HANDLES_CLOSED
#define ERROR_HANDLES_CLOSED 676L
#endif

/* port->backend_data */
typedef struct iocph__win_timers iocph__win_timers;

typedef struct iocph__win_port {
    HANDLE iocp;
    iocph__thread *workers;    /* push mode: worker_count threads */
    uint32_t worker_count;     /* started and not yet joined */
    OVERLAPPED_ENTRY *raw;     /* push mode: max_batch entries per worker */
    iocph_completion *batches; /* push mode: max_batch completions per worker */
    bool shutdown_posted;      /* pull mode: the sticky packet is in the port */
    INIT_ONCE timers_once;     /* the timer thread is started by the first op with a timeout */
    iocph__win_timers *timers; /* per-op socket timeouts (iocp_timer.c); NULL until then */
    /* Tests only: how many more op packets this port's posts should fail as if the system were
     * out of resources (IOCPH_TEST_FAIL_POSTS=n at port creation; see iocp_outcome.c). */
    _Atomic uint32_t test_failing_posts;
} iocph__win_port;

/* handle->backend_data */
typedef struct iocph__win_handle {
    /* FILE_SKIP_COMPLETION_PORT_ON_SUCCESS is on: a synchronous success queues no packet. */
    bool skip_on_success;
    /* Bumped by handle_cancel_all before its CancelIoEx: an op that was started under an older
     * value must not be continued (a pipe write's next chunk), since that cancel missed it. */
    _Atomic uint32_t cancel_seq;
    /* Sockets: the address family (AF_INET / AF_INET6), learned by the first accept or connect
     * that needs it (0 = not yet known). */
    _Atomic int family;
} iocph__win_handle;

/* A socket op's backend state: iocph__op_socket_backend(op), backend->op_ext_size bytes. It
 * is lent with the op's socket block; every field is (re)set when an op is issued. A wait for
 * data without a timeout has none (NULL): its zero-byte WSARecv takes its WSABUF and flags from
 * the issuing thread's stack (Winsock captures the WSABUF array before the call returns, as
 * .NET's zero-byte receives rely on), has no timer, and keeps a synchronous outcome in
 * op->backend_error like every socket op. */
typedef struct iocph__win_sock_ext {
    WSABUF bufs[IOCPH_MAX_BUFFERS]; /* SEND / RECEIVE: the buffers (a send's unsent part) */
    SOCKADDR_STORAGE addr;          /* SEND_TO, CONNECT: the remote; RECEIVE_FROM: the sender */
    INT addr_len;                   /* RECEIVE_FROM: in/out length of addr */
    DWORD recv_flags;               /* WSARecv / WSARecvFrom in/out flags */
    SOCKET accept_socket;           /* ACCEPT: the pre-created socket, INVALID_SOCKET if none */
    iocph__timer timer;             /* timeout: its deadline and place in the port's heap */
    iocph__op *op;                  /* timeout: the op this block belongs to (for the timer) */
    _Atomic int timed_out;          /* set by the timer before it cancels the op */
    /* ACCEPT: local and remote address as AcceptEx writes them (each 16 bytes larger). */
    uint8_t accept_buf[2 * (sizeof(SOCKADDR_STORAGE) + 16)];
} iocph__win_sock_ext;

/* The ext follows iocph__op_socket in one calloc'd block: its alignment must carry over. */
_Static_assert(sizeof(iocph__op_socket) % _Alignof(iocph__win_sock_ext) == 0,
               "iocph__win_sock_ext would be misaligned after iocph__op_socket");

static inline iocph__win_sock_ext *iocph__win_ext(iocph__op *op)
{
    return (iocph__win_sock_ext *)iocph__op_socket_backend(op);
}

static inline bool iocph__win_is_socket_kind(uint32_t kind)
{
    return kind == IOCPH__KIND_TCP_LISTENER || kind == IOCPH__KIND_TCP || kind == IOCPH__KIND_UDP;
}

static inline bool iocph__win_is_socket_op(uint32_t kind)
{
    return kind >= IOCPH__OP_ACCEPT && kind <= IOCPH__OP_RECEIVE_FROM;
}

static inline HANDLE iocph__win_iocp(iocph__port *port)
{
    return ((iocph__win_port *)port->backend_data)->iocp;
}

static inline HANDLE iocph__win_os(iocph__handle *handle) { return (HANDLE)handle->os; }

/* ---- iocp_port.c ---- */
int32_t iocph__win_port_start(iocph__port *port);
int32_t iocph__win_port_post(iocph__port *port, iocph__op *op);
void iocph__win_port_stop(iocph__port *port);
void iocph__win_port_free(iocph__port *port);
/* Posts a packet without an OVERLAPPED (KEY_WAKE, KEY_SHUTDOWN), retrying while the system is
 * short of memory: a waiter that is never woken would hang a shutdown. */
void iocph__win_post_control(HANDLE iocp, ULONG_PTR key);

/* ---- iocp_dequeue.c ---- */
/* Turns one dequeued packet (not WAKE / SHUTDOWN) into at most one completion. Returns 1 when
 * *entry was filled (the op went back to the pool), 0 when the op continues (a pipe write's
 * next chunk is in flight). */
uint32_t iocph__win_packet(iocph__port *port, const OVERLAPPED_ENTRY *packet,
                           iocph_completion *entry);
int32_t iocph__win_port_dequeue(iocph__port *port, iocph_completion *entries, uint32_t max,
                                uint32_t timeout_ms, uint32_t *count);

/* ---- iocp_outcome.c ---- */
/* The completion result of an op that ended with Win32 error `error` (0 = success) after
 * `bytes` bytes: end of file and a closed pipe writer become 0, cancellation in any form
 * IOCPH_E_CANCELED, and so on. *os_error receives the raw code behind a negative result. */
int64_t iocph__win_result(const iocph__op *op, DWORD error, uint64_t bytes, int32_t *os_error);
/* True when an immediate (synchronous) failure of op is its outcome rather than a refusal:
 * end of file on a read, a closed pipe on either end. */
bool iocph__win_error_is_outcome(const iocph__op *op, DWORD error);
/* Delivers an op that finished without a packet of its own through the port (KEY_OUTCOME), so
 * the completion reaches the user on a dequeuing thread like every other. */
int32_t iocph__win_post_outcome(iocph__op *op, int64_t result, int32_t os_error);
/* The same for an op whose I/O already happened (bytes moved, a flush ran): its outcome must
 * reach the user, so the start call can't report a refusal any more. A post that fails because
 * the system is short of memory is retried (as control packets are) until it goes through. */
int32_t iocph__win_deliver_outcome(iocph__op *op, int64_t result, int32_t os_error);
/* PostQueuedCompletionStatus of op's own OVERLAPPED (with the test hook in front), retried the
 * same way: for packets that carry an I/O that happened. */
int32_t iocph__win_post_done(iocph__op *op, DWORD bytes, ULONG_PTR key);

/* ---- iocp_io.c ---- */
int32_t iocph__win_op_submit(iocph__op *op);
int32_t iocph__win_try_io(iocph__handle *handle, int op_kind, void *buffer, uint32_t length,
                          uint64_t offset, uint32_t *done);
/* True when op was cancelled in a way its next chunk must honour: iocph_op_cancel, a
 * cancel-all after it started, or its handle closing. Called with op->lock held. */
bool iocph__win_cancel_requested_locked(const iocph__op *op);
int32_t iocph__win_op_cancel(iocph__handle *handle, iocph__op *op, uint32_t generation);
int32_t iocph__win_handle_cancel_all(iocph__handle *handle);
/* The next chunk of a pipe write whose previous chunk completed short (called by the dequeuer).
 * Returns 1 when it finished and *entry was filled, 0 when a packet will follow. */
uint32_t iocph__win_pipe_write_continue(iocph__op *op, iocph_completion *entry);

/* ---- iocp_file.c ---- */
int32_t iocph__win_file_open(iocph__port *port, const char *path_utf8, uint32_t flags,
                             intptr_t *os);
int32_t iocph__win_file_length(iocph__handle *handle, uint64_t *length);

/* ---- iocp_pipe.c ---- */
int32_t iocph__win_pipe_create(iocph__port *port, intptr_t *read_os, intptr_t *write_os);

/* ---- iocp_winsock.c ---- */
/* WSAStartup, once per process (never undone: sockets may outlive any one port). */
int32_t iocph__win_winsock_init(void);
int32_t iocph__win_socket_create(iocph__port *port, uint32_t kind, int family, intptr_t *os);
/* True when the socket's provider hands out IFS handles (no layered provider in the way): only
 * then may it skip completion packets on success. */
bool iocph__win_socket_is_ifs(SOCKET s);
/* Turns off a UDP socket's report of an earlier ICMP "port unreachable" (iocp_winsock.c). */
void iocph__win_udp_no_connreset(SOCKET s);
/* The socket's address family, cached in its handle. 0 on error (*error set). */
int iocph__win_socket_family(iocph__handle *handle, DWORD *error);
/* AcceptEx, ConnectEx and GetAcceptExSockaddrs, fetched once through WSAIoctl
 * (SIO_GET_EXTENSION_FUNCTION_POINTER): the DLL then imports nothing from mswsock.dll. */
LPFN_ACCEPTEX iocph__win_accept_ex(SOCKET s, DWORD *error);
LPFN_CONNECTEX iocph__win_connect_ex(SOCKET s, DWORD *error);
LPFN_GETACCEPTEXSOCKADDRS iocph__win_get_accept_ex_sockaddrs(SOCKET s, DWORD *error);

/* ---- iocp_sock_io.c ---- */
/* Starts a socket op (op->backend_data already holds the cancel state). */
int32_t iocph__win_sock_submit(iocph__op *op);
/* A KEY_IO packet of a socket op, `error` from WSAGetOverlappedResult. Returns 1 when *entry
 * was filled, 0 when the op continues (the rest of a send is in flight). */
uint32_t iocph__win_sock_packet(iocph__op *op, DWORD error, DWORD bytes,
                                iocph_completion *entry);

/* ---- iocp_timer.c ---- */
/* Arms op's timeout (op->sock->timeout_ms > 0) on the port's timer thread; on expiry the op is
 * marked timed out and cancelled. Called before the op's I/O is issued. */
int32_t iocph__win_timer_arm(iocph__op *op);
/* Takes op's timeout out of the timer's reach; after this the timer can no longer touch op. */
void iocph__win_timer_disarm(iocph__op *op);
void iocph__win_timers_free(iocph__win_port *w);

/* ---- iocp_handle.c ---- */
int32_t iocph__win_handle_attach(iocph__port *port, iocph__handle *handle);
void iocph__win_handle_close_os(iocph__handle *handle);
int32_t iocph__win_handle_adopt(iocph__port *port, uint32_t kind, intptr_t os, bool duplicate,
                                iocph__adopt *adopt);
void iocph__win_handle_unadopt(iocph__port *port, uint32_t kind, const iocph__adopt *adopt);

#endif
