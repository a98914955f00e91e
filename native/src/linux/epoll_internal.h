/*
 * epoll_internal.h - the epoll backend's private objects: Linux where io_uring is refused.
 *
 * Shape (as .NET's SocketAsyncEngine, Netty and libuv): a port owns N workers, each with its own
 * epoll instance and thread (epoll_loop.c). Every socket and pipe end is nonblocking, registered
 * once, edge-triggered, with the epoll of the worker that owns it (round robin at attach, like
 * io_uring's rings), and all of its operations run on that worker's thread: an operation is
 * tried at once when it reaches the head of its lane (lane.h) and waits for the next readiness
 * edge only after EAGAIN. Other threads hand operations over through a lock-free stack and wake
 * a sleeping worker through an eventfd; cancels through a short locked list.
 *
 * Regular files can't be polled: their reads, writes and flushes run on a small pool of blocking
 * threads (epoll_files.c) and come back to the owning worker, which delivers them in its batches
 * like every other completion.
 */
#ifndef IOCPH_EPOLL_INTERNAL_H
#define IOCPH_EPOLL_INTERNAL_H

#include "internal.h"
#include "lane.h"
#include "timer_heap.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

enum { IOCPH__EPOLL_LANE_SEND = 0, IOCPH__EPOLL_LANE_RECEIVE = 1 };

/* Where an operation is (op->backend_state). NEW: started, not yet seen by its worker (on the
 * stack); LANE: in its handle's lane; POOL_*: a file operation with the blocking pool;
 * POOL_DONE: its result is in op->value / op->backend_error, on its way back to the worker. */
enum {
    IOCPH__EPOLL_OP_NEW = 0,
    IOCPH__EPOLL_OP_LANE = 1,
    IOCPH__EPOLL_OP_POOL_QUEUED = 2,
    IOCPH__EPOLL_OP_POOL_RUNNING = 3,
    IOCPH__EPOLL_OP_POOL_DONE = 4
};

/* Per-handle state. Lanes are the worker's alone; `ops` counts operations started and not
 * finished (any thread adds, the worker subtracts), so cancelling an idle handle - what every
 * close does - costs nothing. */
typedef struct iocph__epoll_handle {
    iocph__lane lanes[2]; /* IOCPH__EPOLL_LANE_* */
    /* Per lane: may an attempt succeed? False once the worker saw EAGAIN, or a stream receive
     * read less than it asked for (the socket had no more), until the next edge of that
     * direction: an op reaching the lane then waits for the edge instead of making a system call
     * that can only say EAGAIN (a server re-posting its receive after each echo would pay one per
     * round trip). Worker only; starts true. */
    bool ready[2];
    /* The peer closed or reset (an event said EPOLLRDHUP, EPOLLHUP or EPOLLERR): the end of
     * stream or the error waits behind the data and brings no edge of its own, so a short
     * read no longer means "empty". Worker only. */
    bool hung_up;
    int fd;
    bool polled;          /* registered with the worker's epoll (not regular files) */
    _Atomic uint32_t ops;
    struct iocph__epoll_handle *next_zombie;
} iocph__epoll_handle;

/* A socket operation's backend block (iocph__op_socket_backend): its timeout and, for a connect,
 * whether connect(2) was already called. */
typedef struct iocph__epoll_sock_ext {
    iocph__timer timer;
    iocph__op *op; /* the op this block belongs to (a fired timer finds it through this) */
    bool connecting;
} iocph__epoll_sock_ext;

/* A cancel request: one op (op, generation) or everything on a handle (op NULL; the request
 * holds a table reference on `handle` until the worker applied it). */
typedef struct iocph__epoll_cancel {
    iocph__op *op;
    uint32_t generation;
    iocph__handle *handle;
} iocph__epoll_cancel;

typedef struct iocph__epoll_cancels {
    iocph__epoll_cancel *items;
    uint32_t count, capacity;
} iocph__epoll_cancels;

typedef struct iocph__epoll_port iocph__epoll_port;

/* How a worker sleeps. While some thread holds a wake-up of it (iocph_thread_hold_wakeups, what
 * the C# dispatcher does around a batch of continuations) it sleeps at most
 * IOCPH__EPOLL_TIMED_SLEEP_MS, so that an operation a holder queued without waking it starts
 * within that time even if the holder blocks before its release: never a hang. */
enum { IOCPH__EPOLL_AWAKE = 0, IOCPH__EPOLL_SLEEP_UNTIMED = 1, IOCPH__EPOLL_SLEEP_TIMED = 2 };
#define IOCPH__EPOLL_TIMED_SLEEP_MS 1

typedef struct iocph__epoll_worker {
    iocph__port *port;
    iocph__epoll_port *owner;
    uint32_t index;
    iocph__thread thread;
    bool thread_started;
    int epfd;
    int wake_fd; /* eventfd, level-triggered in epfd */

    /* ---- shared with other threads ---- */
    _Atomic(iocph__op *) submit_stack; /* new ops, posts, file ops back from the pool */
    _Atomic int sleeping;              /* IOCPH__EPOLL_SLEEP_*: about to block in epoll_wait
                                          (Dekker with pushers) */
    _Atomic uint32_t holders;          /* threads holding a wake-up of this worker (held
                                          wake-ups: epoll_loop.c) */
    _Atomic int stop;
    _Atomic int requests_pending;
    iocph__mutex lock;             /* requests, zombies, exited */
    iocph__epoll_cancels requests;
    iocph__epoll_handle *zombies;  /* closed handles' state, freed by the worker (epoll_loop.c) */
    bool exited;

    /* ---- worker thread only ---- */
    iocph__epoll_cancels taken;    /* requests being applied (swapped with `requests`) */
    iocph__epoll_cancels deferred; /* cancels of ops not yet seen: retried every loop */
    iocph__timer_heap timers;
    iocph_completion *batch;       /* port->max_batch entries */
    uint32_t batch_count;
    struct epoll_event *events;    /* port->max_batch entries */
} iocph__epoll_worker;

/* The blocking pool for regular files (epoll_files.c): threads start on demand up to
 * max_threads and stay until the port stops. */
typedef struct iocph__epoll_files {
    iocph__mutex lock;
    iocph__cond ready;
    iocph__lane queue;      /* queued ops, oldest first (a FIFO like a lane's) */
    uint32_t threads, idle, max_threads;
    bool stop;
    iocph__thread *thread_handles; /* max_threads entries */
} iocph__epoll_files;

struct iocph__epoll_port {
    iocph__epoll_worker *workers;
    uint32_t worker_count;
    _Atomic uint32_t next_worker; /* round robin for handles and posts */
    iocph__epoll_files files;
    /* IOCPH_TEST_EPOLL_TAKE_DELAY_US=n (tests only), read at port creation: each worker turn
     * sleeps n microseconds (plus the timer slack) between taking submissions and taking cancel
     * requests, widening the window where an op pushed just before its handle's close meets the
     * close's cancel-all (epoll_loop.c, take_requests). 0: no pause. */
    uint32_t test_take_delay_us;
};

static inline iocph__epoll_port *iocph__epoll_port_of(iocph__port *port)
{
    return (iocph__epoll_port *)port->backend_data;
}

static inline iocph__epoll_worker *iocph__epoll_worker_of(iocph__handle *handle)
{
    return &iocph__epoll_port_of(handle->port)->workers[handle->ring];
}

static inline iocph__epoll_sock_ext *iocph__epoll_ext(iocph__op *op)
{
    return (iocph__epoll_sock_ext *)iocph__op_socket_backend(op);
}

/* The worker the calling thread is, or NULL. */
extern _Thread_local iocph__epoll_worker *iocph__epoll_current;

/* epoll_loop.c */
void iocph__epoll_worker_main(void *arg);
/* Hands op to its worker (any thread): a new op, a post, or a file op back from the pool. */
void iocph__epoll_push(iocph__epoll_worker *w, iocph__op *op);
/* Queues a cancel request; false if the worker has exited (nothing of it is in flight). */
bool iocph__epoll_request(iocph__epoll_worker *w, const iocph__epoll_cancel *request);
void iocph__epoll_wake(iocph__epoll_worker *w);
/* The end of a thread's hold on a worker (iocph__backend.worker_release). */
void iocph__epoll_worker_release(iocph__port *port, uint32_t worker, bool pending, bool reaper);
/* After the worker's thread was joined: every op still queued gets its completion. */
void iocph__epoll_drain_exited(iocph__epoll_worker *w);
/* A closed handle's state, freed by its worker once no event can name it any more. */
void iocph__epoll_bury(iocph__epoll_worker *w, iocph__epoll_handle *hd);

/* epoll_io.c: one attempt at an operation at the head of its lane, on the worker. */
enum { IOCPH__EPOLL_WAIT = 0, IOCPH__EPOLL_DONE = 1 };
int iocph__epoll_attempt(iocph__op *op, int64_t *result, int32_t *os_error);
/* The lane an operation kind goes to. */
static inline int iocph__epoll_lane_of(const iocph__op *op)
{
    switch (op->kind) {
    case IOCPH__OP_PIPE_WRITE:
    case IOCPH__OP_CONNECT:
    case IOCPH__OP_SEND:
    case IOCPH__OP_SEND_TO:
        return IOCPH__EPOLL_LANE_SEND;
    default:
        return IOCPH__EPOLL_LANE_RECEIVE;
    }
}

/* epoll_files.c */
int32_t iocph__epoll_files_start(iocph__epoll_files *files);
void iocph__epoll_files_stop(iocph__epoll_files *files);
/* Queues a file read, write or flush (any thread). */
int32_t iocph__epoll_files_submit(iocph__port *port, iocph__op *op);
/* Worker: takes op back if no pool thread has started it (true: finish it as cancelled). */
bool iocph__epoll_files_cancel(iocph__epoll_files *files, iocph__op *op);
/* Worker: takes back every queued op of the handle (cancel-all), appending them to *out. */
void iocph__epoll_files_cancel_handle(iocph__epoll_files *files, iocph__handle *handle,
                                      iocph__op **out);

#endif
