/*
 * epoll_loop.c - the epoll backend's port loop: one worker thread per epoll instance.
 *
 * Each turn: take what other threads handed over (new ops, posts, file ops back from the pool,
 * cancel requests, closed handles), fire expired timeouts, deliver the batch, then sleep in
 * epoll_wait until a readiness edge, a wake-up or the next deadline, and run the lanes the edges
 * name. An op is tried the moment it reaches the head of its lane, so a receive with data
 * waiting or a send with room completes without any wait; only EAGAIN parks it until the next
 * edge (edge-triggered: one event per change, and a retry after EAGAIN always sees the next).
 *
 * Handing over: a lock-free stack per worker (a CAS to push; the worker takes it whole and
 * reverses it, keeping each producer's order) and a Dekker handshake on `sleeping`, so that a
 * busy worker costs its producers no system call and a sleeping one exactly one eventfd write.
 */
#include "epoll_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Thread_local iocph__epoll_worker *iocph__epoll_current;

/* While a cancel waits for its op to reach the worker, the worker sleeps at most this long. */
#define DEFERRED_CANCEL_RETRY_MS 1
/* Turns in a row the worker may take its own callbacks' work without looking at epoll. */
#define MAX_BUSY_TURNS 16u

void iocph__epoll_wake(iocph__epoll_worker *w)
{
    uint64_t one = 1;
    while (write(w->wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

static void wake_if_sleeping(iocph__epoll_worker *w)
{
    if (atomic_load(&w->sleeping) && atomic_exchange(&w->sleeping, 0))
        iocph__epoll_wake(w);
}

/* After a push from a thread that may hold its wake-ups: asleep without a timeout -> wake it now
 * (it then sleeps with one while held); asleep with a timeout -> owe the wake-up to the release
 * (the timeout bounds the wait should the holder block first); awake -> it looks at its stack
 * before it sleeps (Dekker). A thread running a batch of continuations that start operations
 * thus wakes the worker about twice per batch instead of once per operation. */
static void wake_for_push(iocph__epoll_worker *w)
{
    bool first, reaper;
    bool *owed = iocph__wake_hold(w->port, w->index, &first, &reaper);
    if (!owed) {
        wake_if_sleeping(w);
        return;
    }
    if (first)
        atomic_fetch_add(&w->holders, 1);
    int sleeping = atomic_load(&w->sleeping);
    if (sleeping == IOCPH__EPOLL_SLEEP_UNTIMED)
        wake_if_sleeping(w);
    else if (sleeping == IOCPH__EPOLL_SLEEP_TIMED)
        *owed = true;
}

void iocph__epoll_worker_release(iocph__port *port, uint32_t worker, bool pending, bool reaper)
{
    (void)reaper; /* no direct ring: a reaping hold is a plain one here */
    iocph__epoll_port *ep = iocph__epoll_port_of(port);
    if (!ep || worker >= ep->worker_count)
        return;
    iocph__epoll_worker *w = &ep->workers[worker];
    atomic_fetch_sub(&w->holders, 1);
    if (pending)
        wake_if_sleeping(w);
}

void iocph__epoll_push(iocph__epoll_worker *w, iocph__op *op)
{
    iocph__op *head = atomic_load_explicit(&w->submit_stack, memory_order_relaxed);
    do {
        op->next = head;
    } while (!atomic_compare_exchange_weak(&w->submit_stack, &head, op));
    if (iocph__epoll_current != w)
        wake_for_push(w); /* the worker itself looks at its stack before it sleeps */
}

static bool cancels_append(iocph__epoll_cancels *list, const iocph__epoll_cancel *c)
{
    if (list->count == list->capacity) {
        uint32_t capacity = list->capacity ? list->capacity * 2 : 16;
        iocph__epoll_cancel *grown = realloc(list->items, (size_t)capacity * sizeof *grown);
        if (!grown)
            return false;
        list->items = grown;
        list->capacity = capacity;
    }
    list->items[list->count++] = *c;
    return true;
}

bool iocph__epoll_request(iocph__epoll_worker *w, const iocph__epoll_cancel *request)
{
    iocph__mutex_lock(&w->lock);
    if (w->exited) {
        iocph__mutex_unlock(&w->lock);
        return false;
    }
    bool queued = cancels_append(&w->requests, request);
    if (queued)
        atomic_store(&w->requests_pending, 1);
    iocph__mutex_unlock(&w->lock);
    if (queued && iocph__epoll_current != w)
        wake_if_sleeping(w);
    return queued;
}

void iocph__epoll_bury(iocph__epoll_worker *w, iocph__epoll_handle *hd)
{
    iocph__mutex_lock(&w->lock);
    if (w->exited || !w->thread_started) {
        iocph__mutex_unlock(&w->lock);
        free(hd); /* no epoll_wait can return it any more */
        return;
    }
    hd->next_zombie = w->zombies;
    w->zombies = hd;
    atomic_store(&w->requests_pending, 1);
    iocph__mutex_unlock(&w->lock);
}

/* ---- finishing ---- */

static void flush_batch(iocph__epoll_worker *w)
{
    uint32_t n = w->batch_count;
    if (n == 0)
        return;
    w->batch_count = 0;
    iocph__deliver(w->port, w->batch, n);
}

/* The op's one completion: timer disarmed, handle's count dropped, entry into the batch (the
 * batch goes to the user when full or at the end of the turn). After it, op may be reused and
 * its handle (closed by then) freed. */
static void finish(iocph__epoll_worker *w, iocph__op *op, int64_t result, int32_t os_error)
{
    if (op->handle) {
        if (iocph__op_is_socket(op) && op->sock) /* no block, no timer */
            iocph__timer_heap_remove(&w->timers, &iocph__epoll_ext(op)->timer);
        atomic_fetch_sub(&((iocph__epoll_handle *)op->handle->backend_data)->ops, 1);
    }
    iocph__op_finish(op, result, os_error, &w->batch[w->batch_count++]);
    if (w->batch_count == w->port->max_batch)
        flush_batch(w);
}

/* ---- lanes ---- */

/* A stream receive that got fewer bytes than it asked for emptied the socket (TCP and
 * socket-pair reads return everything queued up to the length): the next data brings an edge. Not
 * for datagrams (one per call), nor at end of stream (0: no edge will follow, reads return 0). */
static bool drained(const iocph__epoll_handle *hd, const iocph__op *op, int64_t result)
{
    return !hd->hung_up && (op->kind == IOCPH__OP_RECEIVE || op->kind == IOCPH__OP_PIPE_READ) &&
           result > 0 && (uint64_t)result < op->length;
}

/* Tries the head of the lane until it has to wait or the lane is empty. */
static void run_lane(iocph__epoll_worker *w, iocph__epoll_handle *hd, int lane_index)
{
    iocph__lane *lane = &hd->lanes[lane_index];
    while (lane->head && hd->ready[lane_index]) {
        iocph__op *op = lane->head;
        int64_t result;
        int32_t os_error;
        if (iocph__epoll_attempt(op, &result, &os_error) == IOCPH__EPOLL_WAIT) {
            hd->ready[lane_index] = false;
            return;
        }
        if (drained(hd, op, result))
            hd->ready[lane_index] = false;
        /* A socket registered before it connected reported a hang-up (an unconnected TCP
         * socket polls as EPOLLHUP): once connected, only a real one counts - asked of the
         * socket itself, since the peer may already have closed. */
        if (op->kind == IOCPH__OP_CONNECT && result == 0) {
            struct pollfd p = {.fd = hd->fd, .events = POLLIN | POLLRDHUP};
            int r = poll(&p, 1, 0);
            hd->hung_up = r < 0 || (r == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0);
        }
        iocph__lane_remove(lane, op);
        finish(w, op, result, os_error);
    }
}

/* Takes op out of its lane before it is done (cancel, timeout); the next one gets its turn. */
static void take_out_of_lane(iocph__epoll_worker *w, iocph__op *op, int64_t result,
                             int32_t os_error)
{
    iocph__epoll_handle *hd = op->handle->backend_data;
    int lane_index = iocph__epoll_lane_of(op);
    bool was_head = hd->lanes[lane_index].head == op;
    if (!iocph__lane_remove(&hd->lanes[lane_index], op))
        return;
    /* A pipe write cut short reports what went out (as on io_uring): the caller learns how much
     * of its data the reader will see. A TCP send's partial count is not reported (header). */
    if (op->kind == IOCPH__OP_PIPE_WRITE && op->value > 0) {
        result = op->value;
        os_error = 0;
    }
    finish(w, op, result, os_error);
    if (was_head)
        run_lane(w, hd, lane_index);
}

/* ---- what other threads handed over ---- */

static void arrive(iocph__epoll_worker *w, iocph__op *op)
{
    if (op->kind == IOCPH__OP_POST) {
        finish(w, op, 0, 0);
        return;
    }
    if (atomic_load(&op->backend_state) == IOCPH__EPOLL_OP_POOL_DONE) {
        finish(w, op, op->value, op->backend_error);
        return;
    }
    if (iocph__op_is_socket(op) && op->sock) {
        iocph__epoll_sock_ext *ext = iocph__epoll_ext(op);
        if (ext->timer.deadline_ms) {
            if (ext->timer.deadline_ms <= iocph__now_ms()) {
                finish(w, op, IOCPH_E_TIMEOUT, ETIMEDOUT);
                return;
            }
            if (iocph__timer_heap_add(&w->timers, &ext->timer) < 0) {
                finish(w, op, IOCPH_E_NOMEM, ENOMEM);
                return;
            }
        }
    }
    iocph__epoll_handle *hd = op->handle->backend_data;
    int lane_index = iocph__epoll_lane_of(op);
    atomic_store(&op->backend_state, IOCPH__EPOLL_OP_LANE);
    if (iocph__lane_push(&hd->lanes[lane_index], op))
        run_lane(w, hd, lane_index); /* nothing ahead of it: try it now */
}

static bool take_submissions(iocph__epoll_worker *w)
{
    iocph__op *fifo = iocph__op_stack_fifo(atomic_exchange(&w->submit_stack, NULL));
    if (!fifo)
        return false;
    while (fifo) {
        iocph__op *next = fifo->next;
        arrive(w, fifo);
        fifo = next;
    }
    return true;
}

/* Cancels one op; false if it has not reached the worker yet (retry next turn). */
static bool cancel_op(iocph__epoll_worker *w, const iocph__epoll_cancel *c)
{
    iocph__op *op = c->op;
    /* The full generation captured when the cancel was asked: a slot reused since is never hit. */
    if (atomic_load(&op->generation) != c->generation || op->kind == IOCPH__OP_FREE)
        return true;
    switch (atomic_load(&op->backend_state)) {
    case IOCPH__EPOLL_OP_NEW:
        return false;
    case IOCPH__EPOLL_OP_LANE:
        take_out_of_lane(w, op, IOCPH_E_CANCELED, ECANCELED);
        return true;
    case IOCPH__EPOLL_OP_POOL_QUEUED:
        if (iocph__epoll_files_cancel(&w->owner->files, op))
            finish(w, op, IOCPH_E_CANCELED, ECANCELED);
        return true;
    default:
        return true; /* running on a pool thread, or done and on its way here */
    }
}

static void cancel_all(iocph__epoll_worker *w, iocph__handle *handle)
{
    iocph__epoll_handle *hd = handle->backend_data;
    for (int lane = 0; lane < 2; lane++) {
        while (hd->lanes[lane].head) {
            iocph__op *op = hd->lanes[lane].head;
            iocph__lane_remove(&hd->lanes[lane], op);
            finish(w, op, IOCPH_E_CANCELED, ECANCELED);
        }
    }
    if (handle->kind == IOCPH__KIND_FILE) {
        iocph__op *taken = NULL;
        iocph__epoll_files_cancel_handle(&w->owner->files, handle, &taken);
        while (taken) {
            iocph__op *next = taken->next;
            finish(w, taken, IOCPH_E_CANCELED, ECANCELED);
            taken = next;
        }
    }
}

static void take_requests(iocph__epoll_worker *w)
{
    if (!atomic_load(&w->requests_pending) && w->deferred.count == 0)
        return;
    iocph__mutex_lock(&w->lock);
    atomic_store(&w->requests_pending, 0);
    iocph__epoll_cancels swap = w->taken;
    w->taken = w->requests;
    w->requests = swap;
    w->requests.count = 0;
    iocph__epoll_handle *zombies = w->zombies;
    w->zombies = NULL;
    iocph__mutex_unlock(&w->lock);
    /* Every op pushed before one of these requests was queued arrives before it is applied (as
     * on io_uring: cancels taken, then submissions, then cancels applied). A close's cancel-all
     * relies on it: an op whose starter saw `closing` still 0 was pushed before the close queued
     * its request, and must be in its lane when the lanes are emptied - arriving after them, it
     * would wait in the lane of a closed handle forever. */
    take_submissions(w);

    /* Closed handles: their fds left the epoll set before they were buried, and every event
     * epoll_wait returned earlier has been handled, so nothing can name them any more. */
    while (zombies) {
        iocph__epoll_handle *next = zombies->next_zombie;
        free(zombies);
        zombies = next;
    }
    /* Deferred cancels first: they are older. */
    uint32_t deferred = w->deferred.count;
    w->deferred.count = 0;
    for (uint32_t i = 0; i < deferred; i++)
        if (!cancel_op(w, &w->deferred.items[i]) &&
            !cancels_append(&w->deferred, &w->deferred.items[i]))
            break; /* out of memory: the cancel is lost, the op still completes */
    for (uint32_t i = 0; i < w->taken.count; i++) {
        iocph__epoll_cancel *c = &w->taken.items[i];
        if (c->op) {
            if (!cancel_op(w, c))
                cancels_append(&w->deferred, c);
        } else {
            iocph_handle_t value = c->handle->value;
            cancel_all(w, c->handle);
            iocph__table_release(value); /* the request's reference; may close the handle */
        }
    }
    w->taken.count = 0;
}

/* Readiness: receives, accepts and pipe reads on input (or hang-up, error: the attempt then
 * reports it); sends, connects and pipe writes on output. */
static void handle_event(iocph__epoll_worker *w, const struct epoll_event *ev)
{
    iocph__epoll_handle *hd = ev->data.ptr;
    if (!hd) {
        uint64_t value;
        while (read(w->wake_fd, &value, sizeof value) < 0 && errno == EINTR) {
        }
        return;
    }
    uint32_t e = ev->events;
    if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        hd->hung_up = true;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        hd->ready[IOCPH__EPOLL_LANE_RECEIVE] = true;
        run_lane(w, hd, IOCPH__EPOLL_LANE_RECEIVE);
    }
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        hd->ready[IOCPH__EPOLL_LANE_SEND] = true;
        run_lane(w, hd, IOCPH__EPOLL_LANE_SEND);
    }
}

static void expire_timers(iocph__epoll_worker *w)
{
    if (!iocph__timer_heap_first(&w->timers))
        return;
    uint64_t now = iocph__now_ms();
    iocph__timer *t;
    while ((t = iocph__timer_heap_first(&w->timers)) && t->deadline_ms <= now) {
        iocph__timer_heap_remove(&w->timers, t);
        iocph__epoll_sock_ext *ext = IOCPH__CONTAINER_OF(t, iocph__epoll_sock_ext, timer);
        iocph__op *op = ext->op;
        take_out_of_lane(w, op, IOCPH_E_TIMEOUT, ETIMEDOUT);
    }
}

static int wait_ms(iocph__epoll_worker *w, bool timed)
{
    int ms = iocph__timer_heap_wait_ms(&w->timers, iocph__now_ms());
    if (w->deferred.count && (ms < 0 || ms > DEFERRED_CANCEL_RETRY_MS))
        ms = DEFERRED_CANCEL_RETRY_MS;
    if (timed && (ms < 0 || ms > IOCPH__EPOLL_TIMED_SLEEP_MS))
        ms = IOCPH__EPOLL_TIMED_SLEEP_MS;
    return ms;
}

/* The test hook IOCPH_TEST_EPOLL_TAKE_DELAY_US (epoll_internal.h). A sleep, not a busy wait:
 * the threads racing each other need the CPU meanwhile (on two cores a spinning worker kept
 * them out of the window). */
static void test_take_delay(const iocph__epoll_worker *w)
{
    uint32_t us = w->owner->test_take_delay_us;
    if (us) {
        struct timespec pause = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000};
        nanosleep(&pause, NULL);
    }
}

static bool has_work(iocph__epoll_worker *w)
{
    return atomic_load(&w->submit_stack) != NULL || atomic_load(&w->requests_pending);
}

void iocph__epoll_worker_main(void *arg)
{
    iocph__epoll_worker *w = arg;
    iocph__epoll_current = w;
    uint32_t max_events = w->port->max_batch;
    uint32_t busy_turns = 0;
    for (;;) {
        take_submissions(w);
        test_take_delay(w);
        take_requests(w);
        expire_timers(w);
        flush_batch(w);
        if (atomic_load(&w->stop) && !has_work(w))
            break;
        /* The batch's callbacks started more (a server's next send or receive): take them now
         * rather than through an epoll_wait that can only return at once, but poll for events at
         * least every MAX_BUSY_TURNS turns so that a callback that keeps posting starves nobody. */
        if (has_work(w) && ++busy_turns < MAX_BUSY_TURNS)
            continue;
        busy_turns = 0;
        /* Dekker with iocph__epoll_push: either this check sees the new work, or the pusher
         * sees `sleeping` and writes the eventfd. */
        bool timed = atomic_load(&w->holders) > 0;
        atomic_store(&w->sleeping, timed ? IOCPH__EPOLL_SLEEP_TIMED : IOCPH__EPOLL_SLEEP_UNTIMED);
        int timeout = has_work(w) ? 0 : wait_ms(w, timed);
        int n = epoll_wait(w->epfd, w->events, (int)max_events, timeout);
        atomic_store(&w->sleeping, IOCPH__EPOLL_AWAKE);
        atomic_fetch_add_explicit(&w->port->os_waits, 1, memory_order_relaxed);
        for (int i = 0; i < n; i++)
            handle_event(w, &w->events[i]);
    }
    iocph__mutex_lock(&w->lock);
    w->exited = true;
    iocph__mutex_unlock(&w->lock);
    iocph__epoll_current = NULL;
}

void iocph__epoll_drain_exited(iocph__epoll_worker *w)
{
    /* Only a race in the common code could leave anything here (shutdown drains first); every
     * op still gets its one completion. Runs on the thread that joined the worker. */
    iocph__epoll_current = w;
    take_submissions(w);
    take_requests(w);
    w->deferred.count = 0; /* cancels of ops that never arrived: nothing left to cancel */
    flush_batch(w);
    iocph__epoll_current = NULL;
}
