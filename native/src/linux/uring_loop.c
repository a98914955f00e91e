/*
 * uring_loop.c - the thread that drives one ring.
 *
 * One iteration:
 *   1. reap every CQE there is (the CQ is drained fully each time), finishing operations into a
 *      local batch of at most port->max_batch completions;
 *   2. take the cancel stack, then the submit stack, and prepare an SQE per operation;
 *   3. prepare the cancel SQEs *after* the submissions: a cancel can only be asked for an
 *      operation that was pushed before it, so taking cancels first and applying them last
 *      guarantees its target is in the kernel (or in a wait queue) when the cancel runs;
 *   4. deliver the batch (one callback per batch);
 *   5. one io_uring_enter: submit everything and, if there is nothing else to do, sleep until a
 *      completion or a wake-up arrives.
 * The thread alone touches the ring, its handles' state and the operations it started, so none
 * of that needs a lock.
 */
#include "uring_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

_Thread_local iocph__uring_ring *iocph__uring_current;

#define IOCPH__URING_REAP_CHUNK 256u

/* ---- the per-handle list of operations in the kernel (next / backend_data as prev) ---- */

static void kernel_list_add(iocph__uring_handle *hd, iocph__op *op)
{
    op->backend_data = NULL;
    op->next = hd->kernel_head;
    if (hd->kernel_head) {
        hd->kernel_head->backend_data = op;
    }
    hd->kernel_head = op;
}

static void kernel_list_remove(iocph__uring_handle *hd, iocph__op *op)
{
    iocph__op *prev = (iocph__op *)op->backend_data;
    if (prev) {
        prev->next = op->next;
    } else {
        hd->kernel_head = op->next;
    }
    if (op->next) {
        op->next->backend_data = prev;
    }
    op->next = NULL;
    op->backend_data = NULL;
}

/* ---- completions ---- */

static void flush_batch(iocph__uring_ring *ring)
{
    if (ring->batch_count) {
        uint32_t count = ring->batch_count;
        ring->batch_count = 0;
        iocph__deliver(ring->port, ring->batch, count);
    }
}

/* Returns op to the common code with its outcome; the batch is delivered when full. After this
 * the op (and possibly its handle) may be gone: callers touch neither afterwards. */
static void finish(iocph__uring_ring *ring, iocph__op *op, int64_t result, int32_t os_error)
{
    iocph__uring_op_done(op, result, os_error, &ring->batch[ring->batch_count++]);
    if (ring->batch_count == ring->port->max_batch) {
        flush_batch(ring);
    }
}


/* ---- submission ---- */

/* Copies every ready CQE of the main ring into ring->stash and hands the slots back to the
 * kernel; the next reap handles them. For the middle of preparing SQEs, where handling a CQE is
 * not possible (it can finish ops and prepare others). False if there was nothing to take or no
 * memory to take it into (the CQEs then stay where they are: the kernel keeps overflowed ones). */
static bool stash_cq(iocph__uring_ring *ring)
{
    unsigned ready = io_uring_cq_ready(&ring->uring);
    if (ready == 0) {
        return false;
    }
    if (ring->stash_count + ready > ring->stash_capacity) {
        uint32_t capacity = ring->stash_capacity ? ring->stash_capacity : 256;
        while (capacity < ring->stash_count + ready) {
            capacity *= 2;
        }
        iocph__uring_cqe_copy *grown = realloc(ring->stash, capacity * sizeof *grown);
        if (!grown) {
            return false;
        }
        ring->stash = grown;
        ring->stash_capacity = capacity;
    }
    unsigned head, n = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&ring->uring, head, cqe)
    {
        ring->stash[ring->stash_count + n].user_data = cqe->user_data;
        ring->stash[ring->stash_count + n].res = cqe->res;
        if (++n == ready) {
            break;
        }
    }
    io_uring_cq_advance(&ring->uring, n);
    ring->stash_count += n;
    return n > 0;
}

/* -EBADR from io_uring_enter: the kernel dropped CQEs (it could not allocate room for
 * overflowed ones) and says so on every later wait. Which operations were lost can't be known,
 * and each of them is owed exactly one completion that will never come: nothing correct is
 * left to do, so stop with a message that says what happened rather than hang their callers. */
static _Noreturn void cqes_dropped(void)
{
    fprintf(stderr, "iocphybrid: io_uring dropped completions (-EBADR: the kernel could not "
                    "queue an overflowed CQE); exactly-once delivery can't be kept: aborting\n");
    abort();
}

/* The test hook IOCPH_TEST_URING_EBUSY=1: kernels from 5.5 to 5.18 refuse a submission with
 * -EBUSY while completions have overflowed and the CQ is too full to take them back; the
 * running kernel queues them instead. This answers as those kernels would, so that a test can
 * show what the loop does then. */
static bool test_ebusy(iocph__uring_ring *ring)
{
    return ring->owner->test_ebusy &&
           (IO_URING_READ_ONCE(*ring->uring.sq.kflags) & IORING_SQ_CQ_OVERFLOW) &&
           io_uring_cq_ready(&ring->uring) >= ring->uring.cq.ring_entries;
}

/* Hands the prepared SQEs to the kernel without waiting (the SQ is full, or a device chunk is).
 * This runs in the middle of preparing SQEs, far from the loop's reap: an SQ's worth of ops that
 * complete inside the submission (receives whose data is waiting) post their CQEs at once, and
 * thousands of them in one loop would overflow the CQ. So the CQ is emptied into the stash first
 * when it may not hold what this submission can post (two CQEs per SQE: an op and its linked
 * timeout). Should the kernel refuse anyway - -EBUSY (before 5.19: overflowed CQEs wait for room)
 * or -EAGAIN (no memory for requests) - the CQ is emptied and the caller, which loops until its
 * SQEs are taken, tries again: it never spins without giving the kernel room. */
static void submit_prepared(iocph__uring_ring *ring)
{
    ring->device_unsubmitted = 0;
    if (io_uring_cq_ready(&ring->uring) + 2u * io_uring_sq_ready(&ring->uring) >
        ring->uring.cq.ring_entries) {
        stash_cq(ring);
    }
    int ret = test_ebusy(ring) ? -EBUSY : io_uring_submit(&ring->uring);
    atomic_fetch_add_explicit(&ring->port->os_waits, 1, memory_order_relaxed);
    if (ret == -EBUSY || ret == -EAGAIN) {
        if (!stash_cq(ring)) {
            /* Nothing to make room with (the CQ is empty, or no memory to copy it into): give
             * the kernel a moment rather than spin. */
            struct timespec pause = {0, 1000000L};
            nanosleep(&pause, NULL);
        }
        return;
    }
    if (ret == -EBADR) {
        cqes_dropped();
    }
    if (ret < 0 && ret != -EINTR) {
        fprintf(stderr, "iocphybrid: io_uring_submit failed: %d\n", ret);
        abort(); /* the ring is unusable: completions would be lost */
    }
}

struct io_uring_sqe *iocph__uring_get_sqe(iocph__uring_ring *ring)
{
    struct io_uring_sqe *sqe;
    while (!(sqe = io_uring_get_sqe(&ring->uring))) {
        submit_prepared(ring); /* SQ full: hand what we have to the kernel and continue */
    }
    ring->kernel_inflight++;
    return sqe;
}

void iocph__uring_reserve_sqes(iocph__uring_ring *ring, unsigned n)
{
    while (io_uring_sq_space_left(&ring->uring) < n) {
        submit_prepared(ring);
    }
}

#define get_sqe iocph__uring_get_sqe

/* Unbuffered (O_DIRECT) reads and writes go to the device in chunks of at most this many per
 * io_uring_enter. Why: io_uring plugs a submission of more than two SQEs, so the block layer
 * hands the whole batch to the driver with one notification. A device that serves one
 * notification's requests in order and signals them once (Firecracker's virtio-blk, what these
 * machines run on) then returns a depth-32 closed loop's reads as one burst of 32, and the queue
 * stands empty while the burst is turned around: the loop never leaves that convoy. Submitting in
 * small chunks keeps requests arriving while others are served. Measured, 4 KiB random O_DIRECT
 * reads at depth 32 on one core (bench_file_read --engine iocph-push): the whole batch in one
 * enter 66-68k IOPS at 5.4 us CPU per read; chunks of 1: 80-95k at 8.0-8.7 us; 2: 90-93k at
 * 6.3-7.7 us; 4: 87-91k at 5.6-6.2 us; 8: 79-82k at 6.1 us; fio's io_uring engine (one SQE per
 * enter) 77-86k at 9.3 us. Buffered file I/O, sockets and pipes keep whole batches. */
/* (IOCPH__URING_DEVICE_CHUNK, in uring_internal.h: the direct ring uses it too.) */

static void submit_device_chunk(iocph__uring_ring *ring, iocph__op *op)
{
    if ((op->kind != IOCPH__OP_READ && op->kind != IOCPH__OP_WRITE) ||
        !(op->handle->flags & IOCPH_FILE_UNBUFFERED)) {
        return;
    }
    if (++ring->device_unsubmitted == IOCPH__URING_DEVICE_CHUNK) {
        submit_prepared(ring);
    }
}

static void prep_op(iocph__uring_ring *ring, iocph__op *op)
{
    iocph__handle *h = op->handle;
    if (iocph__uring_is_socket_op(op)) {
        iocph__uring_sock_prep(ring, op);
        kernel_list_add((iocph__uring_handle *)h->backend_data, op);
        return;
    }
    int fd = (int)h->os;
    struct io_uring_sqe *sqe = get_sqe(ring);
    switch (op->kind) {
    case IOCPH__OP_READ:
    case IOCPH__OP_WRITE:
        iocph__uring_prep_rw(sqe, op);
        break;
    case IOCPH__OP_FLUSH:
        io_uring_prep_fsync(sqe, fd, 0);
        break;
    case IOCPH__OP_PIPE_READ:
        /* A pipe or FIFO the caller associated has no recv: read at the stream's position. */
        if (h->os_pipe)
            io_uring_prep_read(sqe, fd, op->buffer, op->length, (uint64_t)-1);
        else
            io_uring_prep_recv(sqe, fd, op->buffer, op->length, 0);
        break;
    default: /* IOCPH__OP_PIPE_WRITE: the part not written yet; never SIGPIPE (a pipe fd's
              * EPIPE raises it at the ring thread, which blocks it: common/sync.c) */
        if (h->os_pipe)
            io_uring_prep_write(sqe, fd, op->buffer + op->value,
                                op->length - (uint32_t)op->value, (uint64_t)-1);
        else
            io_uring_prep_send(sqe, fd, op->buffer + op->value,
                               op->length - (uint32_t)op->value, MSG_NOSIGNAL);
        break;
    }
    io_uring_sqe_set_data(sqe, op);
    kernel_list_add((iocph__uring_handle *)h->backend_data, op);
    submit_device_chunk(ring, op);
}

/* The lane a stream op waits in (one in the kernel per lane), or -1 for ops that need none:
 * files, accepts, connects, datagrams (each one is whole, order between them is not promised). */
static int lane_of(const iocph__op *op)
{
    switch (op->kind) {
    case IOCPH__OP_PIPE_WRITE:
    case IOCPH__OP_SEND: return IOCPH__URING_LANE_SEND;
    case IOCPH__OP_PIPE_READ:
    case IOCPH__OP_RECEIVE: return IOCPH__URING_LANE_RECEIVE;
    default: return -1;
    }
}

/* Whether the lane's busy op was cancelled (see IOCPH__URING_BUSY_CANCELLED). */
static bool busy_cancelled(const iocph__op *op)
{
    return (atomic_load_explicit(&op->backend_state, memory_order_relaxed) &
            IOCPH__URING_BUSY_CANCELLED) != 0;
}

static void set_busy_cancelled(iocph__op *op)
{
    atomic_store_explicit(&op->backend_state, IOCPH__URING_BUSY_CANCELLED, memory_order_relaxed);
}

static void start_lane_op(iocph__uring_ring *ring, iocph__uring_lane *lane, iocph__op *op)
{
    lane->busy = op;
    atomic_store_explicit(&op->backend_state, 0, memory_order_relaxed); /* not cancelled */
    op->value = 0; /* pipe writes: bytes written so far */
    prep_op(ring, op);
}

static void start_op(iocph__uring_ring *ring, iocph__op *op)
{
    if (op->kind == IOCPH__OP_POST) {
        /* Posts never reach the kernel: the ring thread is the delivery path. */
        finish(ring, op, op->value, 0);
        return;
    }
    int lane_index = lane_of(op);
    if (lane_index >= 0) {
        iocph__uring_handle *hd = (iocph__uring_handle *)op->handle->backend_data;
        iocph__uring_lane *lane = &hd->lanes[lane_index];
        if (lane->busy) {
            iocph__lane_push(&lane->waiting, op);
            return;
        }
        start_lane_op(ring, lane, op);
        return;
    }
    prep_op(ring, op);
}

/* The lane's current op is done: start the next waiting one. Called before the done op is
 * finished, while its handle reference still keeps hd alive. */
static void lane_next(iocph__uring_ring *ring, iocph__uring_lane *lane)
{
    lane->busy = NULL;
    iocph__op *next = lane->waiting.head;
    if (next) {
        iocph__lane_remove(&lane->waiting, next);
        start_lane_op(ring, lane, next);
    }
}

/* Both CQEs of a socket op are in (or its only one), res being the op's own: resubmit the rest
 * of a short send, or finish it. */
static void sock_settle(iocph__uring_ring *ring, iocph__op *op, int res)
{
    iocph__uring_handle *hd = (iocph__uring_handle *)op->handle->backend_data;
    int lane_index = lane_of(op);
    iocph__uring_lane *lane = lane_index >= 0 ? &hd->lanes[lane_index] : NULL;
    int64_t result;
    int32_t os_error;
    if (!iocph__uring_sock_result(op, res, lane && busy_cancelled(op), &result, &os_error)) {
        prep_op(ring, op);
        return;
    }
    if (lane) {
        lane_next(ring, lane);
    }
    finish(ring, op, result, os_error);
}

/* The CQE of the LINK_TIMEOUT tied to a socket op. */
static void timeout_done(iocph__uring_ring *ring, iocph__op *op, int res)
{
    iocph__uring_sock_ext *ext = iocph__uring_ext(op);
    ext->timeout_pending = false;
    if (res == -ETIME) {
        ext->timed_out = true;
    }
    if (!ext->op_in_kernel) {
        sock_settle(ring, op, ext->op_res);
    }
}

static inline __attribute__((always_inline)) void complete_op(iocph__uring_ring *ring,
                                                              iocph__op *op, int res)
{
    iocph__uring_handle *hd = (iocph__uring_handle *)op->handle->backend_data;
    if (iocph__uring_is_direct(ring, op)) {
        op->backend_data = NULL; /* never in the kernel list: submitted by another thread */
    } else {
        kernel_list_remove(hd, op);
    }
    if (iocph__uring_is_socket_op(op)) {
        iocph__uring_sock_ext *ext = iocph__uring_ext(op);
        if (!ext) {
            sock_settle(ring, op, res); /* no block: no timeout, this is its only CQE */
            return;
        }
        ext->op_res = res;
        ext->op_in_kernel = false;
        if (!ext->timeout_pending) {
            sock_settle(ring, op, res);
        }
        return;
    }
    int64_t result;
    int32_t os_error = 0;
    iocph__uring_lane *lane = &hd->lanes[op->kind == IOCPH__OP_PIPE_READ ? 1 : 0];

    if (op->kind == IOCPH__OP_PIPE_WRITE) {
        /* A pipe write completes only when every byte is written: resubmit the rest of a short
         * send, unless it was cancelled. Partial progress then wins over the cancel, so the
         * caller learns how much of its data went out. */
        if (res > 0) {
            op->value += res;
            if ((uint64_t)op->value < op->length && !busy_cancelled(op)) {
                prep_op(ring, op);
                return;
            }
            result = op->value;
        } else if (res == 0 || (op->value > 0 && iocph__uring_map_result(res) == IOCPH_E_CANCELED)) {
            result = op->value;
        } else {
            result = iocph__uring_map_result(res);
            os_error = -res;
        }
    } else if (res >= 0) {
        result = op->kind == IOCPH__OP_FLUSH ? 0 : res;
    } else {
        result = iocph__uring_map_result(res);
        os_error = -res;
    }
    if (lane_of(op) >= 0) {
        result = iocph__pipe_result(result);
        lane_next(ring, lane);
    }
    finish(ring, op, result, os_error);
}

/* ---- cancellation (ring thread side) ---- */

static bool unlink_waiting(iocph__uring_lane *lane, iocph__op *op)
{
    return iocph__lane_remove(&lane->waiting, op);
}

/*
 * A cancel by user_data can miss its target: it returns -ENOENT for an op that is between two
 * states (a socket op whose poll just fired waits in task work for this thread's next
 * io_uring_enter, and is then in no table the cancel looks in; seen with the plain setup flags,
 * 1 in ~200 pipe-write cancels). So the cancel's own CQE names its target - the op's pool index,
 * the generation the cancel was asked for and an attempt count - and a -ENOENT for an op still
 * in flight is retried (at most 15 times) after the next io_uring_enter has run that task work.
 * The whole 32-bit generation travels, not a part of it: a slot reused a multiple of 2^n times
 * while this thread was in a slow callback would otherwise look like the cancel's target, and
 * the retry would cancel an op nobody cancelled. user_data: tag in bits 0-2, index in 3-22
 * (IOCPH_MAX_OPS is 2^20), attempt in 23-26, generation in 32-63.
 */
#define IOCPH__URING_CANCEL_INDEX_SHIFT 3
#define IOCPH__URING_CANCEL_ATTEMPT_SHIFT 23
#define IOCPH__URING_MAX_CANCEL_ATTEMPTS 15u
_Static_assert(IOCPH_MAX_OPS <= (1u << (IOCPH__URING_CANCEL_ATTEMPT_SHIFT - IOCPH__URING_CANCEL_INDEX_SHIFT)),
               "an op's pool index must fit in a cancel's user_data");

static void prep_cancel_user_data(iocph__uring_ring *ring, iocph__op *op, uint32_t generation,
                                  uint32_t attempt)
{
    struct io_uring_sqe *sqe = get_sqe(ring);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_CANCEL |
                                     ((uint64_t)op->index << IOCPH__URING_CANCEL_INDEX_SHIFT) |
                                     ((uint64_t)attempt << IOCPH__URING_CANCEL_ATTEMPT_SHIFT) |
                                     ((uint64_t)generation << 32));
}

static void push_cancel(iocph__uring_ring *ring, uint32_t kind, iocph__op *op,
                        uint32_t generation, iocph__handle *handle, uint32_t attempt);

/* The CQE of a cancel by user_data. */
static void cancel_done(iocph__uring_ring *ring, uint64_t user_data, int res)
{
    if (res != -ENOENT) {
        return; /* 0: cancelled; -EALREADY: running, it will end by itself */
    }
    uint32_t index = (uint32_t)(user_data >> IOCPH__URING_CANCEL_INDEX_SHIFT) & (IOCPH_MAX_OPS - 1u);
    uint32_t attempt = (uint32_t)(user_data >> IOCPH__URING_CANCEL_ATTEMPT_SHIFT) & 0xFu;
    uint32_t generation = (uint32_t)(user_data >> 32); /* the one the cancel was asked for */
    iocph__op *op = iocph__op_at(ring->port, index);
    if (!op || atomic_load(&op->generation) != generation ||
        attempt >= IOCPH__URING_MAX_CANCEL_ATTEMPTS) {
        return; /* finished (and maybe reused) since: nothing of ours to cancel */
    }
    /* Applied after this reap, and apply_cancel_op checks the generation again, so an op whose
     * own CQE follows in the same batch is seen finished by then. */
    push_cancel(ring, IOCPH__URING_CANCEL_OP, op, generation, NULL, attempt + 1);
}

static void apply_cancel_op_owned(iocph__uring_ring *ring, iocph__op *op, uint32_t generation,
                                  uint32_t attempt);

/* False: a reaping holder owns the direct CQ right now (it may be finishing this very op), so
 * the cancel is kept for the next loop; the holder is counted in ring->holders, so that loop
 * comes within a timed sleep. */
static bool apply_cancel_op(iocph__uring_ring *ring, iocph__op *op, uint32_t generation,
                            uint32_t attempt)
{
    if (!iocph__uring_direct_try_own(ring)) {
        return false;
    }
    apply_cancel_op_owned(ring, op, generation, attempt);
    iocph__uring_direct_disown(ring);
    return true;
}

static void apply_cancel_op_owned(iocph__uring_ring *ring, iocph__op *op, uint32_t generation,
                                  uint32_t attempt)
{
    /* Only this thread finishes this ring's ops (and a reaping holder direct ones, but not while
     * we own the direct CQ), so an unchanged generation means the op is still ours: waiting
     * behind a busy pipe op, or in the kernel. */
    if (atomic_load(&op->generation) != generation || op->kind == IOCPH__OP_POST) {
        return;
    }
    iocph__uring_handle *hd = (iocph__uring_handle *)op->handle->backend_data;
    int lane_index = lane_of(op);
    if (lane_index >= 0) {
        iocph__uring_lane *lane = &hd->lanes[lane_index];
        if (unlink_waiting(lane, op)) {
            finish(ring, op, IOCPH_E_CANCELED, 0);
            return;
        }
        if (lane->busy == op) {
            set_busy_cancelled(op);
        }
    }
    if (iocph__uring_is_socket_op(op) && op->sock && !iocph__uring_ext(op)->op_in_kernel) {
        return; /* done in the kernel, only its timeout's CQE is still to come */
    }
    if (iocph__uring_is_direct(ring, op)) {
        iocph__uring_direct_cancel(ring, op);
        return;
    }
    prep_cancel_user_data(ring, op, generation, attempt);
}

static void apply_cancel_all(iocph__uring_ring *ring, iocph__handle *h)
{
    iocph__uring_handle *hd = (iocph__uring_handle *)h->backend_data;
    /* Our table reference keeps h (and hd) alive while we finish its ops. */
    for (int i = 0; i < 2; i++) {
        iocph__uring_lane *lane = &hd->lanes[i];
        while (!iocph__lane_empty(&lane->waiting)) {
            iocph__op *op = lane->waiting.head;
            iocph__lane_remove(&lane->waiting, op);
            finish(ring, op, IOCPH_E_CANCELED, 0);
        }
        if (lane->busy) {
            set_busy_cancelled(lane->busy);
        }
    }
    /* Cancel-by-fd for files, where hundreds may be in flight (they wait in io-wq, never in
     * poll task work, so one pass finds them all). Pipe and socket ops can be missed by a
     * single pass (see prep_cancel_user_data), so they are cancelled by user_data, with
     * retries; a linked timeout goes with its op. */
    if (hd->kernel_head && ring->owner->features.cancel_fd && h->kind == IOCPH__KIND_FILE) {
        /* One SQE for all of them. The kernel looks the fd up when it issues the cancel, inside
         * our next io_uring_enter; until then the ops in the kernel hold references, so the fd
         * stays open even once ours is gone: they only finish after that enter. */
        struct io_uring_sqe *sqe = get_sqe(ring);
        io_uring_prep_cancel_fd(sqe, (int)h->os, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_IGNORE);
    } else {
        for (iocph__op *op = hd->kernel_head; op; op = op->next) {
            /* In this handle's kernel list: live, and ours, at its current generation. */
            prep_cancel_user_data(ring, op, atomic_load(&op->generation), 0);
        }
    }
    if (h->kind == IOCPH__KIND_FILE && (h->flags & IOCPH_FILE_UNBUFFERED)) {
        iocph__uring_direct_cancel_fd(ring, (int)h->os); /* what other threads submitted */
    }
    iocph__table_release(h->value);
}

static void push_cancel(iocph__uring_ring *ring, uint32_t kind, iocph__op *op,
                        uint32_t generation, iocph__handle *handle, uint32_t attempt)
{
    if (ring->cancel_count == ring->cancel_capacity) {
        uint32_t capacity = ring->cancel_capacity ? ring->cancel_capacity * 2 : 16;
        iocph__uring_cancel *grown = realloc(ring->cancels, capacity * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "iocphybrid: out of memory queueing a cancel request\n");
            abort(); /* dropping it would leak a handle reference or a cancel */
        }
        ring->cancels = grown;
        ring->cancel_capacity = capacity;
    }
    iocph__uring_cancel *c = &ring->cancels[ring->cancel_count++];
    c->kind = kind;
    c->generation = generation;
    c->attempt = attempt;
    c->op = op;
    c->handle = handle;
}

/* Takes the cancel stack, in request order. Cancel-all nodes are copied out and re-armed at
 * once, so a cancel-all asked while this one is being applied is queued again, not lost. */
static void take_cancels(iocph__uring_ring *ring)
{
    iocph__uring_request *lifo = atomic_exchange(&ring->request_stack, NULL);
    iocph__uring_request *fifo = NULL;
    while (lifo) {
        iocph__uring_request *next = lifo->next;
        lifo->next = fifo;
        fifo = lifo;
        lifo = next;
    }
    while (fifo) {
        iocph__uring_request *next = fifo->next;
        bool all = fifo->kind == IOCPH__URING_CANCEL_ALL;
        push_cancel(ring, fifo->kind, all ? NULL : fifo->op, fifo->generation, all ? fifo->handle : NULL, 0);
        if (all) {
            iocph__uring_handle *hd = (iocph__uring_handle *)fifo->handle->backend_data;
            atomic_store(&hd->cancel_all_queued, 0);
        } else {
            free(fifo);
        }
        fifo = next;
    }
}

static void apply_cancels(iocph__uring_ring *ring)
{
    uint32_t kept = 0; /* those to try again next loop, moved to the front */
    for (uint32_t i = 0; i < ring->cancel_count; i++) {
        iocph__uring_cancel *c = &ring->cancels[i];
        if (c->kind == IOCPH__URING_CANCEL_ALL) {
            apply_cancel_all(ring, c->handle);
        } else if (!apply_cancel_op(ring, c->op, c->generation, c->attempt)) {
            ring->cancels[kept++] = *c;
        }
    }
    ring->cancel_count = kept;
}

/* The whole submit stack, in push order (each producer's order is kept). */
static iocph__op *take_submit_stack(iocph__uring_ring *ring)
{
    return iocph__op_stack_fifo(atomic_exchange(&ring->submit_stack, NULL));
}

void iocph__uring_prep_file_op(iocph__uring_ring *ring, iocph__op *op)
{
    prep_op(ring, op);
}

static void take_submits(iocph__uring_ring *ring)
{
    iocph__op *fifo = take_submit_stack(ring);
    while (fifo) {
        iocph__op *next = fifo->next;
        fifo->next = NULL;
        start_op(ring, fifo);
        fifo = next;
    }
}

/* ---- reaping ---- */

typedef struct reaped {
    uint64_t user_data;
    int res;
} reaped;

/* Inlined (with complete_op) into both of reap_cq's copies, main and direct: calls per CQE
 * showed as +80 instructions per TCP send + receive under callgrind (docs/benchmarks.md, 6). */
static inline __attribute__((always_inline)) void handle_cqe(iocph__uring_ring *ring,
                                                             uint64_t user_data, int res)
{
    switch (user_data & IOCPH__URING_TAG_MASK) {
    case IOCPH__URING_TAG_OP:
        complete_op(ring, (iocph__op *)(uintptr_t)user_data, res);
        break;
    case IOCPH__URING_TAG_WAKE:
        ring->wake_armed = false;
        break;
    case IOCPH__URING_TAG_CANCEL:
        cancel_done(ring, user_data, res);
        break;
    case IOCPH__URING_TAG_DIRECT:
        ring->direct.poll_armed = false; /* the direct ring has CQEs: reap() takes them */
        break;
    case IOCPH__URING_TAG_TIMEOUT:
        timeout_done(ring, (iocph__op *)(uintptr_t)(user_data & ~IOCPH__URING_TAG_MASK), res);
        break;
    default: /* IOCPH__URING_TAG_IGNORE: a cancel's own result */
        break;
    }
}

/* Drains a CQ fully: the main ring's, or the direct ring's (whose CQEs are ops other threads
 * submitted and cancels' own results, IOCPH__URING_TAG_IGNORE). CQEs are copied out and the CQ
 * advanced before any is processed, so a slow callback never holds CQ slots. */
static void reap_cq(iocph__uring_ring *ring, struct io_uring *uring, bool direct)
{
    reaped chunk[IOCPH__URING_REAP_CHUNK];
    for (;;) {
        unsigned head, n = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(uring, head, cqe)
        {
            chunk[n].user_data = cqe->user_data;
            chunk[n].res = cqe->res;
            if (++n == IOCPH__URING_REAP_CHUNK) {
                break;
            }
        }
        if (n == 0) {
            return;
        }
        io_uring_cq_advance(uring, n);
        for (unsigned i = 0; i < n; i++) {
            if (direct) {
                ring->direct.linger = true;
                atomic_fetch_sub(&ring->direct.inflight, 1);
            } else {
                ring->kernel_inflight--;
            }
            handle_cqe(ring, chunk[i].user_data, chunk[i].res);
        }
    }
}

/* Nothing in flight on the direct ring: nothing to look for there (most loops, most workloads). */
static bool direct_idle(iocph__uring_ring *ring)
{
    return !ring->direct.ready || atomic_load_explicit(&ring->direct.inflight, memory_order_acquire) == 0;
}

/* The CQEs submit_prepared copied out: older than what is in the CQ, so handled first. Handling
 * one can stash more (it may fill the SQ): they are taken in the same pass. */
static void reap_stash(iocph__uring_ring *ring)
{
    for (uint32_t i = 0; i < ring->stash_count; i++) {
        iocph__uring_cqe_copy c = ring->stash[i]; /* a copy: handling it may move the array */
        ring->kernel_inflight--;
        handle_cqe(ring, c.user_data, c.res);
    }
    ring->stash_count = 0;
}

static void reap(iocph__uring_ring *ring)
{
    do {
        reap_stash(ring);
        reap_cq(ring, &ring->uring, false);
    } while (ring->stash_count > 0);
    if (!direct_idle(ring) && iocph__uring_direct_try_own(ring)) {
        reap_cq(ring, &ring->direct.uring, true); /* else a holder is at it */
        iocph__uring_direct_disown(ring);
    }
}

static void arm_wake(iocph__uring_ring *ring)
{
    struct io_uring_sqe *sqe = get_sqe(ring);
    io_uring_prep_read(sqe, ring->wake_fd, &ring->wake_value, sizeof ring->wake_value, 0);
    io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_WAKE);
    ring->wake_armed = true;
}

/* One-shot POLL_ADD on the direct ring's fd: its CQ has entries. Re-armed after every reap; one
 * that fires at once because CQEs arrived in between is just another loop. */
static void arm_direct_poll(iocph__uring_ring *ring)
{
    struct io_uring_sqe *sqe = get_sqe(ring);
    io_uring_prep_poll_add(sqe, ring->direct.uring.ring_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_DIRECT);
    ring->direct.poll_armed = true;
}

static bool stacks_empty(iocph__uring_ring *ring)
{
    return atomic_load(&ring->submit_stack) == NULL && atomic_load(&ring->request_stack) == NULL;
}

/* Whether the direct CQ has entries, asked without owning it: a reaping holder may take the CQ
 * and advance its head at any moment (uring_direct_reap.c), so both indices are read atomically
 * (liburing's io_uring_cq_ready reads the head plainly: a data race with that holder's
 * io_uring_cq_advance, which ThreadSanitizer reported). A stale answer costs one extra loop or
 * a timed sleep; whoever owns the CQ reaps it. */
static bool direct_cq_ready(iocph__uring_ring *ring)
{
    const struct io_uring_cq *cq = &ring->direct.uring.cq;
    return __atomic_load_n(cq->ktail, __ATOMIC_ACQUIRE) != __atomic_load_n(cq->khead, __ATOMIC_RELAXED);
}

/* One io_uring_enter: submit, and block only if nothing is waiting for us (see
 * IOCPH__URING_SLEEP_* for why a sleep after activity has a timeout). */
static void enter(iocph__uring_ring *ring)
{
    bool busy = !stacks_empty(ring) || io_uring_cq_ready(&ring->uring) > 0 || ring->stash_count > 0 ||
                (!direct_idle(ring) && atomic_load(&ring->direct.cq_owner) == IOCPH__URING_CQ_FREE &&
                 direct_cq_ready(ring));
    int mode = IOCPH__URING_SLEEP_UNTIMED; /* decided only for a sleep: busy loops skip it */
    if (!busy) {
        /* Timed while some thread holds a wake-up; while SQEs wait on the direct ring (their
         * holder's count may be gone already, or their enter failed), for the backstop; and
         * after completions of direct ops were delivered, because their continuations usually
         * start the next ones at once under a hold, which would otherwise have to wake a ring
         * asleep without a timeout (two context switches between a burst of completions and
         * the next read, on a shared core). */
        if (ring->timed_sleeps && (atomic_load(&ring->holders) > 0 || ring->direct.linger ||
                                   iocph__uring_direct_pending(ring) || ring->cancel_count > 0)) {
            mode = IOCPH__URING_SLEEP_TIMED;
        }
        ring->direct.prepared_at_sleep = atomic_load_explicit(&ring->direct.prepared, memory_order_relaxed);
        atomic_store(&ring->sleeping, mode);
        /* Re-check after publishing `sleeping` (the producers' side is in uring_queue.c): new
         * work, or a holder that arrived while we decided on a sleep without a timeout. */
        if (!stacks_empty(ring) ||
            (mode == IOCPH__URING_SLEEP_UNTIMED && ring->timed_sleeps && atomic_load(&ring->holders) > 0)) {
            atomic_store(&ring->sleeping, IOCPH__URING_AWAKE);
            busy = true;
        }
    }
    ring->device_unsubmitted = 0;
    int ret;
    if (busy) {
        /* GETEVENTS also runs pending task work (COOP_TASKRUN) without waiting. */
        ret = io_uring_submit_and_get_events(&ring->uring);
    } else if (mode == IOCPH__URING_SLEEP_TIMED) {
        struct __kernel_timespec ts = {0, IOCPH__URING_TIMED_SLEEP_NS};
        struct io_uring_cqe *cqe;
        ret = io_uring_submit_and_wait_timeout(&ring->uring, &cqe, 1, &ts, NULL);
        atomic_store(&ring->sleeping, IOCPH__URING_AWAKE);
        if (ret == -ETIME) {
            ring->direct.linger = false; /* a whole timeout without a CQE */
        }
    } else {
        ret = io_uring_submit_and_wait(&ring->uring, 1);
        atomic_store(&ring->sleeping, IOCPH__URING_AWAKE);
    }
    atomic_fetch_add_explicit(&ring->port->os_waits, 1, memory_order_relaxed);
    if (ret == -EBADR) {
        cqes_dropped();
    }
    /* -EBUSY / -EAGAIN: the next loop reaps first, which gives the kernel the room it wants. */
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != -ETIME) {
        fprintf(stderr, "iocphybrid: io_uring_enter failed: %d\n", ret);
        abort();
    }
}

static bool idle(iocph__uring_ring *ring)
{
    return stacks_empty(ring) && ring->batch_count == 0 && ring->cancel_count == 0 &&
           atomic_load(&ring->direct.inflight) == 0 &&
           ring->kernel_inflight ==
               (ring->wake_armed ? 1u : 0u) + (ring->direct.poll_armed ? 1u : 0u);
}

void iocph__uring_thread_main(void *arg)
{
    iocph__uring_ring *ring = (iocph__uring_ring *)arg;
    ring->setup_status = iocph__uring_ring_setup(ring);
    if (ring->setup_status == IOCPH_OK) {
        arm_wake(ring);
        iocph__uring_direct_setup(ring);
    } else if (ring->uring_ready) {
        io_uring_queue_exit(&ring->uring);
        ring->uring_ready = false;
    }
    int32_t status = ring->setup_status;
    iocph__sem_post(&ring->ready); /* port_start may free ring after this on failure */
    if (status != IOCPH_OK) {
        return;
    }
    iocph__uring_current = ring;

    for (;;) {
        reap(ring);
        take_cancels(ring);
        take_submits(ring);
        apply_cancels(ring);
        flush_batch(ring);
        if (atomic_load(&ring->stop) && idle(ring) && iocph__uring_direct_close(ring)) {
            break;
        }
        if (!ring->wake_armed) {
            arm_wake(ring);
        }
        if (ring->direct.ready && !ring->direct.holders_reap && !ring->direct.poll_armed) {
            arm_direct_poll(ring); /* (with holders_reap the CQ signals wake_fd instead) */
        }
        /* Backstop: SQEs a holder held back on the direct ring and has not released yet (it may
         * have blocked: the timed sleep brings us here within IOCPH__URING_TIMED_SLEEP_NS). */
        iocph__uring_direct_backstop(ring);
        enter(ring);
    }
    /* Take the eventfd read (and the direct ring's poll) back before closing the ring: ring
     * teardown is asynchronous in the kernel, and a read it completed late would write into
     * wake_value after port_free. */
    static const uint64_t armed_tags[] = {IOCPH__URING_TAG_WAKE, IOCPH__URING_TAG_DIRECT};
    bool armed[] = {ring->wake_armed, ring->direct.poll_armed};
    for (int i = 0; i < 2; i++) {
        if (armed[i]) {
            struct io_uring_sqe *sqe = get_sqe(ring);
            io_uring_prep_cancel64(sqe, armed_tags[i], 0);
            io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_IGNORE);
        }
    }
    while (ring->kernel_inflight > 0) {
        if (ring->stash_count == 0) { /* (a stashed CQE is not waited for: it is here) */
            io_uring_submit_and_wait(&ring->uring, 1);
        }
        reap(ring);
    }
    io_uring_queue_exit(&ring->uring);
    ring->uring_ready = false;
    if (ring->direct.ready) {
        /* Closed and empty (iocph__uring_direct_close); unmapped with the port (uring_port.c),
         * since a reaping holder may still switch its CQ's signal. */
        iocph__uring_direct_close_cq(ring);
    }
    iocph__uring_current = NULL;
}

void iocph__uring_drain_exited(iocph__uring_ring *ring)
{
    iocph__mutex_lock(&ring->exit_lock);
    ring->exited = true;
    iocph__mutex_unlock(&ring->exit_lock);

    /* Requests: nothing is in flight on an exited ring, so there is nothing to cancel. */
    iocph__uring_request *req = atomic_exchange(&ring->request_stack, NULL);
    while (req) {
        iocph__uring_request *next = req->next;
        if (req->kind == IOCPH__URING_CANCEL_ALL) {
            iocph__uring_handle *hd = (iocph__uring_handle *)req->handle->backend_data;
            iocph__handle *h = req->handle;
            atomic_store(&hd->cancel_all_queued, 0);
            iocph__table_release(h->value);
        } else {
            free(req);
        }
        req = next;
    }
    /* Ops: only an op started while the port stopped could be here; it is still owed exactly
     * one completion, and after shutdown that is "cancelled" (posts keep their value). */
    iocph__op *fifo = take_submit_stack(ring);
    while (fifo) {
        iocph__op *next = fifo->next;
        fifo->next = NULL;
        finish(ring, fifo, fifo->kind == IOCPH__OP_POST ? fifo->value : IOCPH_E_CANCELED, 0);
        fifo = next;
    }
    flush_batch(ring);
}
