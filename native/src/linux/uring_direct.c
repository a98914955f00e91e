/*
 * uring_direct.c - the direct ring: unbuffered file reads and writes that other threads submit
 * themselves.
 *
 * Why: an operation started on another thread normally waits on the ring's submit stack until
 * the ring thread runs, and a sleeping ring thread must be woken for it (an eventfd write, two
 * context switches on a shared core). For a thread-pool continuation that reads the next block
 * of an O_DIRECT file that hand-off is most of the cost, and it returns the reads to the device
 * in convoys: measured with io_uring tracepoints, 4 KiB random reads at depth 32 from C# with
 * thread-pool continuations on one core had 3 or fewer reads in the kernel 22-27% of the time
 * (inline continuations: 6%), and reached 0.78x fio's IOPS. Submitting straight into a ring of
 * their own took the same run to 0.94x (docs/benchmarks.md).
 *
 * How: a second io_uring per ring, created without SINGLE_ISSUER, whose SQ any thread fills
 * under a mutex and enters outside it. Its completions are the ring thread's work: the main
 * ring keeps a POLL_ADD armed on the direct ring's fd, so a CQE there wakes the ring thread,
 * which reaps both CQs and finishes the ops exactly as its own (on a push port a reaping holder
 * takes them too, at its release: uring_direct_reap.c). A holder that blocks
 * before its release can't strand what it held back: an op is held back only while a CQE is
 * coming to wake the ring thread or the ring sleeps with a timeout (else the ring is woken),
 * and the ring thread sends what no holder has added to for a whole sleep. The direct ring is
 * set up without COOP_TASKRUN: the kernel runs a request's completion work on the thread that
 * submitted it, and only the default notification interrupts that thread promptly when it is
 * busy in user code.
 *
 * Only unbuffered reads and writes come here: they go straight to the block device and are done
 * in a bounded time, so a submitting thread that exits (the kernel waits for its requests) or a
 * cancel that can't stop them costs little. Buffered I/O may run in io-wq workers of the
 * submitting thread, flushes may block, streams need lanes: those keep the stack. The direct ring
 * needs cancel-by-fd (5.19) for a handle close; without it, and in compat mode, it is not made.
 */
#include "uring_internal.h"


void iocph__uring_direct_setup(iocph__uring_ring *ring)
{
    /* Cancel-by-fd for a handle close; timed sleeps for the backstop flush (a holder that
     * blocks before its release). */
    if (ring->owner->compat || !ring->owner->features.cancel_fd || !ring->timed_sleeps) {
        return;
    }
    static const unsigned attempts[] = {IORING_SETUP_SUBMIT_ALL, 0};
    struct io_uring_params params;
    size_t used;
    /* Failing is fine: every op then takes the stack. */
    ring->direct.ready = iocph__uring_init_ring(&ring->direct.uring, ring->port, attempts,
                                                sizeof attempts / sizeof attempts[0], &params,
                                                &used) == 0;
    ring->direct.holders_reap = ring->direct.ready && iocph__uring_direct_reap_setup(ring);
}

/* Under d->lock: makes every prepared SQE visible to the kernel (what liburing's submit does
 * before its enter); returns how many it has not taken yet. The enter itself is made after the
 * lock is dropped (direct_enter): it runs the device's doorbell, a VM exit that took 70 us when
 * the host was busy, and on the way out the completions of this thread's earlier requests; a
 * second submitter waiting on the lock through all that turned a depth-32 loop into one read at
 * a time, each thread waking the other through the lock (traced, docs/benchmarks.md). Several
 * threads may enter at once: the kernel takes the SQ under its own lock, each enter takes at
 * most what is published, and one that finds the SQEs gone returns 0. */
static unsigned direct_publish(iocph__uring_direct *d)
{
    struct io_uring_sq *sq = &d->uring.sq;
    if (sq->sqe_head != sq->sqe_tail) {
        sq->sqe_head = sq->sqe_tail;
        io_uring_smp_store_release(sq->ktail, sq->sqe_tail);
    }
    atomic_store(&d->unsubmitted, 0);
    return sq->sqe_tail - io_uring_smp_load_acquire(sq->khead);
}

/* Not under the lock. A failed enter leaves the SQEs published and untaken: counted back into
 * `unsubmitted` (any count above 0 will do: the next publish's enter takes every published SQE,
 * so one that resets the count covers them), so the ring thread sleeps with a timeout and its
 * backstop (iocph__uring_direct_backstop) sends them should nobody else; it is woken for that,
 * as no CQE may be coming. */
static void direct_enter(iocph__uring_ring *ring, unsigned count)
{
    if (count > 0 && io_uring_enter((unsigned)ring->direct.uring.ring_fd, count, 0, 0, NULL) < 0) {
        atomic_fetch_add(&ring->direct.unsubmitted, 1);
        iocph__uring_wake_if_sleeping(ring);
    }
}

/* Under d->lock: an SQE, or NULL if the kernel can't take what is queued right now (a full SQ
 * is entered under the lock: 256 SQEs held back, never in the measured paths). */
static struct io_uring_sqe *direct_sqe(iocph__uring_ring *ring)
{
    iocph__uring_direct *d = &ring->direct;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->uring);
    if (!sqe) {
        direct_enter(ring, direct_publish(d));
        sqe = io_uring_get_sqe(&d->uring);
    }
    return sqe;
}

bool iocph__uring_direct_submit(iocph__uring_ring *ring, iocph__op *op)
{
    iocph__uring_direct *d = &ring->direct;
    if (!d->ready || (op->kind != IOCPH__OP_READ && op->kind != IOCPH__OP_WRITE) ||
        !(op->handle->flags & IOCPH_FILE_UNBUFFERED)) {
        return false;
    }
    /* Only for a thread that holds its wake-ups (a batch of continuations): it sends its ops in
     * chunks and the rest at its release (iocph__uring_worker_release). Anyone else pushes: one
     * enter per op would cost it more CPU than the ring thread's batching (a C pull loop at
     * depth 32: 7.0-7.5 us per read through the stack, 8.8-11.3 us direct), for the same IOPS.
     * The holder is counted in ring->holders like any holder (the ring then sleeps with a
     * timeout, and its backstop sends what a holder that blocked before its release left). */
    if (!iocph__uring_hold_counted(ring)) {
        return false;
    }
    iocph__mutex_lock(&d->lock);
    struct io_uring_sqe *sqe = d->closed ? NULL : direct_sqe(ring);
    if (!sqe) {
        iocph__mutex_unlock(&d->lock);
        return false;
    }
    iocph__uring_prep_rw(sqe, op);
    io_uring_sqe_set_data(sqe, op);
    op->backend_data = (void *)d; /* iocph__uring_is_direct */

    /* Nothing of this ring's in the kernel (submitted, CQE not reaped): no CQE is coming to wake
     * the ring thread, so if it sleeps without a timeout it must be woken now, or a holder that
     * blocks would leave this op unsent. Otherwise that CQE wakes it, it sees this holder (counted
     * before it looked here) and sleeps with a timeout. After delivering completions of the
     * direct ring the ring sleeps with a timeout anyway (uring_loop.c): the usual case, a batch
     * of continuations of reads, needs no wake-up. */
    uint32_t held = atomic_fetch_add(&d->unsubmitted, 1);
    bool kernel_idle = atomic_fetch_add(&d->inflight, 1) == held;
    atomic_fetch_add_explicit(&d->prepared, 1, memory_order_relaxed);
    unsigned enter = held + 1 >= IOCPH__URING_DEVICE_CHUNK ? direct_publish(d) : 0;
    iocph__mutex_unlock(&d->lock);

    direct_enter(ring, enter);
    if (kernel_idle && enter == 0 && atomic_load(&ring->sleeping) == IOCPH__URING_SLEEP_UNTIMED) {
        iocph__uring_wake_if_sleeping(ring);
    }
    return true;
}

void iocph__uring_direct_send(iocph__uring_ring *ring, bool wait)
{
    iocph__uring_direct *d = &ring->direct;
    if (wait) {
        iocph__mutex_lock(&d->lock);
    } else if (!iocph__mutex_trylock(&d->lock)) {
        return; /* a submitter is at work: it sends what is queued, or is about to queue more */
    }
    unsigned enter = d->closed ? 0 : direct_publish(d);
    iocph__mutex_unlock(&d->lock);
    direct_enter(ring, enter);
}

/* Ring thread: one ASYNC_CANCEL on the direct ring, of op by user data or, without op, of
 * everything on fd; its own CQE is ignored. */
static void direct_cancel(iocph__uring_ring *ring, const iocph__op *op, int fd)
{
    iocph__uring_direct *d = &ring->direct;
    iocph__mutex_lock(&d->lock);
    struct io_uring_sqe *sqe = d->closed ? NULL : direct_sqe(ring);
    if (sqe) {
        if (op) {
            io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
        } else {
            io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
        }
        io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_IGNORE);
        atomic_fetch_add(&d->inflight, 1);
        direct_enter(ring, direct_publish(d));
    }
    iocph__mutex_unlock(&d->lock);
}

void iocph__uring_direct_cancel(iocph__uring_ring *ring, iocph__op *op)
{
    /* Queued after the op's own SQE (same SQ, in order) if that is still held back: the
     * kernel sees the op before the cancel either way. */
    direct_cancel(ring, op, -1);
}

void iocph__uring_direct_cancel_fd(iocph__uring_ring *ring, int fd)
{
    /* Nothing in flight there (the usual close): no system call. `inflight` drops only once a
     * completion was delivered (by the ring thread or a reaping holder), so anything this handle
     * has on the direct ring is counted. */
    if (ring->direct.ready && atomic_load(&ring->direct.inflight) > 0) {
        direct_cancel(ring, NULL, fd);
    }
}

bool iocph__uring_direct_close(iocph__uring_ring *ring)
{
    iocph__uring_direct *d = &ring->direct;
    if (!d->ready) {
        return true;
    }
    iocph__mutex_lock(&d->lock);
    if (atomic_load(&d->inflight) == 0) {
        d->closed = true;
    }
    bool closed = d->closed;
    iocph__mutex_unlock(&d->lock);
    return closed;
}
