/*
 * uring_internal.h - the io_uring backend's private objects.
 *
 * Shape: a port owns N rings, each driven by exactly one thread (uring_loop.c). Every handle is
 * bound to one ring (round robin at attach), so all of its operations are submitted, completed
 * and cancelled by that one thread; that is what keeps per-handle state free of locks.
 *
 * Other threads never touch a ring's SQ. They push work onto one of two lock-free stacks
 * (operations, cancel requests) and wake the ring through an eventfd only if its thread said it
 * was going to sleep. The ring thread takes whole stacks at once and submits everything in its
 * next io_uring_enter, so under load starting an operation costs no system call of its own.
 *
 * One exception, for unbuffered (O_DIRECT) file reads and writes: each ring has a second,
 * "direct" ring that any thread submits such an op to itself (uring_direct.c), so that starting
 * it never has to wake the ring thread; the ring thread still reaps and finishes it.
 */
#ifndef IOCPH_URING_INTERNAL_H
#define IOCPH_URING_INTERNAL_H

#include "internal.h"
#include "lane.h"
#include "uring_valgrind.h"

#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* user_data of SQEs that are not operations carries a tag in its low bits (operations, handles
 * and requests are at least 8-byte aligned, so an operation's user_data is the bare pointer). */
#define IOCPH__URING_TAG_MASK ((uint64_t)7)
enum {
    IOCPH__URING_TAG_OP = 0,         /* an iocph__op */
    IOCPH__URING_TAG_WAKE = 1,       /* the ring's eventfd read */
    IOCPH__URING_TAG_IGNORE = 2,     /* an ASYNC_CANCEL whose result does not matter */
    IOCPH__URING_TAG_CANCEL = 3,     /* ASYNC_CANCEL of one op: see uring_loop.c */
    IOCPH__URING_TAG_TIMEOUT = 4,    /* the LINK_TIMEOUT linked to a socket op (op pointer) */
    IOCPH__URING_TAG_DIRECT = 5      /* the poll on the direct ring's fd (uring_direct.c) */
};

enum { IOCPH__URING_CANCEL_OP = 1, IOCPH__URING_CANCEL_ALL = 2 };

/* A cancel request travelling to the ring thread that owns the target. */
typedef struct iocph__uring_request {
    struct iocph__uring_request *next;
    uint32_t kind;       /* IOCPH__URING_CANCEL_* */
    uint32_t generation; /* CANCEL_OP: the op's generation when cancel was asked (stale check) */
    /* One or the other by kind: 24 bytes, not 32, in every handle's state (cancel_all). */
    union {
        iocph__op *op;         /* CANCEL_OP: malloc'd request, freed by the ring thread */
        iocph__handle *handle; /* CANCEL_ALL: embedded in the handle, holds a table reference */
    };
} iocph__uring_request;

/* One direction of a byte stream (pipe end or TCP socket). Two sends (or two recvs) in flight
 * on one stream socket can interleave their bytes or complete out of order, so a lane keeps one
 * operation in the kernel at a time and queues later ones in order. */
typedef struct iocph__uring_lane {
    iocph__op *busy;       /* the one in the kernel */
    iocph__lane waiting;   /* the ones after it, in order (common/lane.h) */
    /* Whether busy was cancelled (do not resubmit the rest of a short write/send) is busy's own
     * op->backend_state (IOCPH__URING_BUSY_CANCELLED), not a bool here: with two lanes, a bool's
     * padding made every handle's block 120 bytes, a 128-byte malloc chunk (112 without). */
} iocph__uring_lane;

/* op->backend_state of a lane's busy op: cancelled while in the kernel. Ring thread only;
 * start_lane_op clears it. */
#define IOCPH__URING_BUSY_CANCELLED 1u

enum { IOCPH__URING_LANE_SEND = 0, IOCPH__URING_LANE_RECEIVE = 1 };

/* Per-handle state. Everything but the cancel-all node is touched by the ring thread only. */
typedef struct iocph__uring_handle {
    iocph__uring_lane lanes[2]; /* IOCPH__URING_LANE_*: pipe writes/TCP sends, reads/receives */
    /* Operations of this handle in the kernel, doubly linked through op->next and
     * op->backend_data (prev): what a cancel-all walks when ASYNC_CANCEL_FD is missing. (No
     * count beside it: 88 bytes, a 96-byte malloc chunk per handle instead of 112; every idle
     * connection has one.) */
    iocph__op *kernel_head;
    /* A cancel-all never allocates: one request node per handle, queued at most once. */
    iocph__uring_request cancel_all;
    _Atomic int cancel_all_queued;
    /* Operations started and not finished yet (any thread increments, the ring decrements):
     * a cancel-all of an idle handle, the common case of a close, does nothing at all, so the
     * handle is closed before iocph_handle_close returns. */
    _Atomic uint32_t ops;
} iocph__uring_handle;
_Static_assert(sizeof(iocph__uring_handle) <= 88, "a handle's io_uring state fits a 96-byte malloc chunk");

/* What a cancel request becomes once the ring thread took it off the stack. */
typedef struct iocph__uring_cancel {
    uint32_t kind;
    uint32_t generation;
    uint32_t attempt; /* CANCEL_OP: how many times the kernel said -ENOENT already */
    iocph__op *op;
    iocph__handle *handle;
} iocph__uring_cancel;

typedef struct iocph__uring_port iocph__uring_port;

/* A CQE copied out of the CQ (uring_loop.c). */
typedef struct iocph__uring_cqe_copy {
    uint64_t user_data;
    int32_t res;
} iocph__uring_cqe_copy;

/* How a ring sleeps. A thread that holds its wake-ups (iocph_thread_hold_wakeups) may leave a
 * ring asleep only if that sleep is TIMED, so an operation it queued waits at most
 * IOCPH__URING_TIMED_SLEEP_NS even if the holder blocks before its release (a continuation doing
 * sync-over-async): never a hang. A ring sleeps TIMED only while some thread holds a wake-up of
 * it (ring->holders > 0): arming the timer costs a few microseconds in a VM, too much to pay on
 * every sleep. */
enum { IOCPH__URING_AWAKE = 0, IOCPH__URING_SLEEP_UNTIMED = 1, IOCPH__URING_SLEEP_TIMED = 2 };
#define IOCPH__URING_TIMED_SLEEP_NS 1000000L

/* A ring's direct ring (uring_direct.c). Any thread submits to its SQ, under `lock`. The ring
 * thread reaps its CQ, woken by a poll on its fd that the main ring keeps armed; on a push port
 * reaping holders (iocph_thread_hold_wakeups_and_reap) take it too, and the CQ signals the ring's
 * wake eventfd instead, switched off while reapers are there (uring_direct_reap.c). */
typedef struct iocph__uring_direct {
    struct io_uring uring;
    bool ready;          /* created; set before port start returns, constant until port free */
    bool closed;         /* under lock: the ring thread is exiting, submitters take the stack */
    bool poll_armed;     /* ring thread only: the main ring's POLL_ADD on uring's fd */
    iocph__mutex lock;   /* the SQ and `closed` */
    _Atomic uint32_t inflight; /* SQEs submitted or prepared whose CQE was not delivered yet */
    _Atomic uint32_t unsubmitted; /* SQEs prepared and not published (held back), +1 after a
                                     failed enter left published ones untaken; reset to 0 by
                                     a publish (under lock), whose enter takes them all */
    _Atomic uint32_t prepared;    /* SQEs ever prepared (wraps): has a holder moved on? */
    uint32_t prepared_at_sleep;   /* ring thread only: `prepared` when it last went to sleep */
    bool linger;                  /* ring thread only: sleep with a timeout, completions of
                                     direct ops were delivered since the last one expired */
    bool holders_reap;            /* reaping holders may take the CQ; constant after setup */
    _Atomic int cq_owner;         /* holders_reap: IOCPH__URING_CQ_* (uring_direct_reap.c) */
    _Atomic uint32_t reapers;     /* holders_reap: holders counted as reapers right now */
} iocph__uring_direct;

typedef struct iocph__uring_ring {
    iocph__port *port;
    iocph__uring_port *owner;
    uint32_t index;
    iocph__thread thread;
    bool thread_started;

    /* ---- shared with other threads ---- */
    _Atomic(iocph__op *) submit_stack;             /* ops and posts, newest first */
    _Atomic(iocph__uring_request *) request_stack; /* cancel requests, newest first */
    _Atomic int sleeping; /* 0 awake, else (about to be) blocked in io_uring_enter: one of
                             IOCPH__URING_SLEEP_* (uring_loop.c, held wake-ups) */
    _Atomic uint32_t holders; /* threads holding a wake-up of this ring (uring_queue.c) */
    _Atomic int stop;     /* port_stop asked the thread to exit once idle */
    int wake_fd;          /* eventfd the ring keeps a read armed on */
    iocph__mutex exit_lock; /* orders late cancel requests against the thread having exited */
    bool exited;
    iocph__uring_direct direct;

    /* setup handshake: the ring is created on its own thread (SINGLE_ISSUER binds it there) */
    iocph__sem ready;
    int32_t setup_status;

    /* ---- ring thread only ---- */
    struct io_uring uring;
    bool uring_ready;
    uint64_t wake_value;   /* the eventfd read's buffer */
    bool wake_armed;
    bool timed_sleeps;     /* the kernel takes a wait timeout in io_uring_enter (EXT_ARG) */
    uint32_t kernel_inflight; /* SQEs whose CQE was not reaped yet (ops, wake read, cancels) */
    uint32_t device_unsubmitted; /* unbuffered file SQEs prepared since the last submit */
    iocph_completion *batch;  /* port->max_batch entries */
    uint32_t batch_count;
    iocph__uring_cancel *cancels; /* cancel requests taken from the stack, applied after the
                                     submissions they may target */
    uint32_t cancel_count, cancel_capacity;
    /* CQEs taken out of the CQ while SQEs were being prepared (submit_prepared, uring_loop.c),
     * handled by the next reap before the CQ itself; still counted in kernel_inflight. */
    iocph__uring_cqe_copy *stash;
    uint32_t stash_count, stash_capacity;
} iocph__uring_ring;

/* Features probed once per port, at the first ring's setup. */
typedef struct iocph__uring_features {
    unsigned setup_flags;  /* flags the rings were created with */
    bool cancel_fd;        /* IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL (5.19+) */
    bool ring_fd_registered;
} iocph__uring_features;

struct iocph__uring_port {
    iocph__uring_ring *rings;
    uint32_t ring_count;
    _Atomic uint32_t next_ring; /* round robin for handles and posts */
    iocph__uring_features features;
    bool compat; /* IOCPH_IO_URING_COMPAT=1: take every fallback path (for testing them) */
    bool test_ebusy; /* IOCPH_TEST_URING_EBUSY=1 (tests only): submit_prepared answers -EBUSY
                        as kernels before 5.19 did (uring_loop.c) */
};

static inline iocph__uring_port *iocph__uring_port_of(iocph__port *port)
{
    return (iocph__uring_port *)port->backend_data;
}

static inline iocph__uring_ring *iocph__uring_ring_of(iocph__handle *handle)
{
    return &iocph__uring_port_of(handle->port)->rings[handle->ring];
}

/* The ring the calling thread drives, or NULL (set by the ring thread for its lifetime). */
extern _Thread_local iocph__uring_ring *iocph__uring_current;

/* uring_loop.c: the ring thread. */
void iocph__uring_thread_main(void *arg);
/* Drains what was queued to a ring whose thread has exited (only a common-code race can leave
 * anything there): every op still gets its one completion. */
void iocph__uring_drain_exited(iocph__uring_ring *ring);

/* uring_queue.c: the cross-thread side. */
void iocph__uring_push_op(iocph__uring_ring *ring, iocph__op *op);
/* Returns false if the ring's thread has exited (the request was not queued). */
bool iocph__uring_push_request(iocph__uring_ring *ring, iocph__uring_request *request);
void iocph__uring_wake(iocph__uring_ring *ring);
/* For a thread that holds its wake-ups (else NULL): counts it in ring->holders once and wakes the
 * ring if it sleeps without a timeout, so that it sleeps with one while held (see
 * IOCPH__URING_SLEEP_*). Returns the hold's "wake-up owed at the release" flag. */
bool *iocph__uring_hold(iocph__uring_ring *ring);
/* The same without the wake-up: for a holder whose ops need no ring thread to start
 * (uring_direct.c, which keeps its own guarantee that a held-back op is sent). */
bool *iocph__uring_hold_counted(iocph__uring_ring *ring);
/* Wakes the ring thread if it is (about to be) asleep: one eventfd write per sleep. */
void iocph__uring_wake_if_sleeping(iocph__uring_ring *ring);

/* uring_probe.c: whether io_uring runs in this process (iocph__backend.probe). */
int32_t iocph__uring_probe(int32_t *reason, int32_t *os_error);

/* uring_setup.c: ring creation and feature probes. */
/* Every opcode the backend uses is in the running kernel (io_uring_get_probe_ring). */
bool iocph__uring_has_required_opcodes(struct io_uring *uring);
int32_t iocph__uring_ring_setup(iocph__uring_ring *ring);
/* The SQ and CQ sizes of a port's rings. */
void iocph__uring_ring_sizes(iocph__port *port, uint32_t *sq, uint32_t *cq);
/* Creates a ring of the port's sizes with the first of `attempts` (setup flags, richest first)
 * the kernel accepts; *used = its index. A negative errno if none. */
int iocph__uring_init_ring(struct io_uring *uring, iocph__port *port, const unsigned *attempts,
                           size_t count, struct io_uring_params *params, size_t *used);

/* The SQE of a file read or write (the main loop's and the direct ring's). On an O_APPEND file
 * the kernel writes at the end whatever the offset. */
static inline void iocph__uring_prep_rw(struct io_uring_sqe *sqe, const iocph__op *op)
{
    int fd = (int)op->handle->os;
    if (op->kind == IOCPH__OP_READ) {
        io_uring_prep_read(sqe, fd, op->buffer, op->length, op->offset);
    } else {
        io_uring_prep_write(sqe, fd, op->buffer, op->length, op->offset);
    }
}

/* Unbuffered file reads and writes go to the kernel in chunks of at most this many per
 * io_uring_enter (why: uring_loop.c). */
#define IOCPH__URING_DEVICE_CHUNK 4u

/* uring_direct.c: the direct ring. */
/* Ring thread, after its setup: creates the direct ring where the kernel allows (never in
 * compat mode); without it every op takes the stack. */
void iocph__uring_direct_setup(iocph__uring_ring *ring);
/* Any thread but the ring's own, holding its wake-ups: submits op if it is an unbuffered file
 * read or write and the direct ring is open, in chunks (the rest at the release); false: push
 * it instead. */
bool iocph__uring_direct_submit(iocph__uring_ring *ring, iocph__op *op);
/* Hands held-back SQEs (and any a failed enter left) to the kernel: at a release (wait true),
 * or as the ring thread's backstop (wait false: not if a submitter holds the lock). */
void iocph__uring_direct_send(iocph__uring_ring *ring, bool wait);
/* SQEs on the direct ring that need an enter nobody is about to make: held back by a holder,
 * or left by a failed enter (counted back into `unsubmitted`). The ring thread sleeps with a
 * timeout while there are any. */
static inline bool iocph__uring_direct_pending(iocph__uring_ring *ring)
{
    return ring->direct.ready && atomic_load_explicit(&ring->direct.unsubmitted, memory_order_relaxed) > 0;
}
/* A releasing holder: sends what is held back (its own ops and any other holder's). */
static inline void iocph__uring_direct_flush(iocph__uring_ring *ring)
{
    if (iocph__uring_direct_pending(ring)) {
        iocph__uring_direct_send(ring, true);
    }
}
/* Ring thread, every loop: the backstop for a holder that blocked before its release. Sends
 * pending SQEs only once no new one was prepared while the ring slept (a holder that is still
 * running sends its own chunks: flushing its partial chunk would split the device's batch and
 * contend for the lock it prepares under), and never waits for that lock. */
static inline void iocph__uring_direct_backstop(iocph__uring_ring *ring)
{
    if (iocph__uring_direct_pending(ring) &&
        atomic_load_explicit(&ring->direct.prepared, memory_order_relaxed) == ring->direct.prepared_at_sleep) {
        iocph__uring_direct_send(ring, false);
    }
}
static inline bool iocph__uring_is_direct(iocph__uring_ring *ring, const iocph__op *op)
{
    return op->backend_data == (void *)&ring->direct; /* the mark direct_submit leaves */
}
/* Ring thread: cancels by user_data and by fd on the direct ring (best effort: a read the
 * device has started finishes by itself). */
void iocph__uring_direct_cancel(iocph__uring_ring *ring, iocph__op *op);
void iocph__uring_direct_cancel_fd(iocph__uring_ring *ring, int fd);
/* Ring thread, before it exits: true once nothing is in flight there and no thread can submit
 * any more (they push to the stack instead); false: keep looping. */
bool iocph__uring_direct_close(iocph__uring_ring *ring);

/* uring_direct_reap.c: reaping holders take the direct ring's completions. */
/* Ring thread, in direct setup: makes the CQ signal the ring's wake eventfd where holders may
 * reap (push mode, callback not capped); false: they won't (the poll on the ring's fd stays). */
bool iocph__uring_direct_reap_setup(iocph__uring_ring *ring);
/* A reaping holder, counted before it submits (uring_queue.c) and at its release. */
void iocph__uring_direct_reaper_arrives(iocph__uring_ring *ring);
void iocph__uring_direct_reaper_leaves(iocph__uring_ring *ring);
/* Who may look at the direct CQ: nobody right now, one thread (the ring thread or a holder), or
 * nobody ever again (the ring thread is about to unmap it). */
enum { IOCPH__URING_CQ_FREE = 0, IOCPH__URING_CQ_OWNED = 1, IOCPH__URING_CQ_GONE = 2 };
/* Ring thread: takes the CQ if it is free (always true without holders_reap, where only the
 * ring thread reaps), gives it back; close waits for it and keeps it gone. */
bool iocph__uring_direct_try_own(iocph__uring_ring *ring);
void iocph__uring_direct_disown(iocph__uring_ring *ring);
void iocph__uring_direct_close_cq(iocph__uring_ring *ring);

/* A negative CQE result as a portable code. io-wq reports a cancelled blocking operation as
 * -EINTR (the worker is signalled), never for anything else, so both mean "cancelled". */
static inline int64_t iocph__uring_map_result(int res)
{
    if (res == -ECANCELED || res == -EINTR) {
        return IOCPH_E_CANCELED;
    }
    return iocph__map_errno(-res);
}

/* An op's last step on any thread that reaps it (the ring thread, or a reaping holder): the
 * handle's count of ops in the kernel drops, and the common code fills the completion entry.
 * After it the op (and possibly its handle) may be gone. */
static inline void iocph__uring_op_done(iocph__op *op, int64_t result, int32_t os_error,
                                        iocph_completion *entry)
{
    if (op->handle) {
        atomic_fetch_sub(&((iocph__uring_handle *)op->handle->backend_data)->ops, 1);
    }
    iocph__uring_mark_received(op, result);
    iocph__op_finish(op, result, os_error, entry);
}

/* uring_handles.c */
int32_t iocph__uring_file_open(iocph__port *port, const char *path_utf8, uint32_t flags,
                               intptr_t *os);
int32_t iocph__uring_pipe_create(iocph__port *port, intptr_t *read_os, intptr_t *write_os);
int32_t iocph__uring_handle_attach(iocph__port *port, iocph__handle *handle);
void iocph__uring_handle_close_os(iocph__handle *handle);
int32_t iocph__uring_handle_adopt(iocph__port *port, uint32_t kind, intptr_t os, bool duplicate,
                                  iocph__adopt *adopt);
void iocph__uring_handle_unadopt(iocph__port *port, uint32_t kind, const iocph__adopt *adopt);

/* What only some socket ops need: an address (connect, datagrams), a msghdr and iovecs
 * (gather sends, scatter receives, datagrams). Allocated the first time a socket block serves
 * such an op and kept with the block (iocph__op_socket.backend_extra, freed with it): a pending
 * one-buffer receive, what an idle connection holds, needs none of its ~440 bytes. */
typedef struct iocph__uring_sock_wide {
    struct sockaddr_storage addr; /* connect / send-to remote, receive-from sender */
    struct msghdr msg;            /* SENDMSG / RECVMSG */
    struct iovec iov[IOCPH_MAX_BUFFERS];
} iocph__uring_sock_wide;

/* A socket op's backend block (iocph__op_socket_backend(op); backend->op_ext_size bytes). The
 * kernel reads and writes it until the op's CQEs are reaped; it is lent with the op's socket
 * block, which the op gives back only when it is finished. NULL for a wait for data without a
 * timeout (see iocph__uring_sock_begin). */
typedef struct iocph__uring_sock_ext {
    struct __kernel_timespec timeout; /* LINK_TIMEOUT: the time left */
    /* The deadline (CLOCK_MONOTONIC ns, 0 = no timeout) is op->offset, which a socket op has no
     * other use for (uring_sock.c: deadline_of): with it here the block an idle connection's
     * pending receive holds was a 112-byte malloc chunk, 96 without. */
    int op_res;                   /* the op's own CQE result, kept until the timeout's CQE */
    bool op_in_kernel;            /* the op's own CQE is still to come */
    bool timeout_pending;         /* the linked timeout's CQE is still to come */
    bool timed_out;               /* the linked timeout fired (-ETIME) */
} iocph__uring_sock_ext;

static inline iocph__uring_sock_ext *iocph__uring_ext(iocph__op *op)
{
    return (iocph__uring_sock_ext *)iocph__op_socket_backend(op);
}

static inline bool iocph__uring_is_socket_op(const iocph__op *op)
{
    return op->kind >= IOCPH__OP_ACCEPT && op->kind <= IOCPH__OP_RECEIVE_FROM;
}

/* uring_loop.c, ring thread only: a file read, write or flush goes into the SQ at once (the
 * device chunking above it may hand it to the kernel right away). uring_ops.c uses it for file
 * ops started by the ring's own callback, which would otherwise wait on the submit stack until
 * the whole batch has been delivered. Not for posts (they would finish into the batch being
 * delivered) nor stream or socket ops (lanes, linked timeouts: the loop's own path). */
void iocph__uring_prep_file_op(iocph__uring_ring *ring, iocph__op *op);

/* uring_loop.c: SQEs for the ring thread (the SQ is flushed to the kernel when full). */
struct io_uring_sqe *iocph__uring_get_sqe(iocph__uring_ring *ring);
/* Makes room for n adjacent SQEs (a linked pair must not be split by a flush). */
void iocph__uring_reserve_sqes(iocph__uring_ring *ring, unsigned n);

/* uring_sock.c */
int32_t iocph__uring_socket_create(iocph__port *port, uint32_t kind, int family, intptr_t *os);
int32_t iocph__uring_try_accept(iocph__handle *listener, intptr_t *os, void *sockaddr,
                                int *sockaddr_len);
/* Caller thread, before the op is queued: resets the op's ext, sets its deadline and makes sure
 * the socket block has the wide block if the op needs one (IOCPH_E_NOMEM if that can't be had).
 * An op without a socket block (a wait for data without a timeout) has no ext: one CQE, no
 * timeout, nothing to keep between CQEs. */
int32_t iocph__uring_sock_begin(iocph__op *op);
/* Ring thread: prepares the op's SQE (and its linked timeout) for what is left to do. */
void iocph__uring_sock_prep(iocph__uring_ring *ring, iocph__op *op);
/* Ring thread, once both CQEs are in: the op's outcome from its own CQE's result `res`.
 * Returns false if a short send must be resubmitted (stop: it was cancelled, do not). */
bool iocph__uring_sock_result(iocph__op *op, int res, bool stop, int64_t *result,
                              int32_t *os_error);

/* uring_ops.c */
int32_t iocph__uring_op_submit(iocph__op *op);
int32_t iocph__uring_op_cancel(iocph__handle *handle, iocph__op *op, uint32_t generation);
int32_t iocph__uring_handle_cancel_all(iocph__handle *handle);
void iocph__uring_worker_release(iocph__port *port, uint32_t worker, bool pending, bool reaper);
int32_t iocph__uring_try_io(iocph__handle *handle, int op_kind, void *buffer, uint32_t length,
                            uint64_t offset, uint32_t *done);
int32_t iocph__uring_port_post(iocph__port *port, iocph__op *op);

#endif
