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
 * under a mutex. Its completions are still the ring thread's work: the main ring keeps a
 * POLL_ADD armed on the direct ring's fd, so a CQE there wakes the ring thread, which reaps
 * both CQs and finishes the ops exactly as its own. The direct ring is set up without
 * COOP_TASKRUN: the kernel runs a request's completion work on the thread that submitted it, and
 * only the default notification interrupts that thread promptly when it is busy in user code.
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
}

/* Under d->lock. A failed enter (-EBUSY while the kernel's CQ overflow list is full, -EINTR)
 * leaves the SQEs queued and counted: the next submit, or the ring thread's backstop flush,
 * sends them. */
static void direct_submit_all(iocph__uring_direct *d)
{
    int ret = io_uring_submit(&d->uring);
    atomic_store(&d->unsubmitted, ret < 0 ? io_uring_sq_ready(&d->uring) : 0);
}

/* Under d->lock: an SQE, or NULL if the kernel can't take what is queued right now. */
static struct io_uring_sqe *direct_sqe(iocph__uring_direct *d)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->uring);
    if (!sqe) {
        direct_submit_all(d);
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
     * The holder is counted in ring->holders like any holder, so the ring thread sleeps with a
     * timeout and its backstop flush bounds the wait should the holder block before it
     * releases (test_file_unbuffered_held). */
    if (!iocph__uring_hold(ring)) {
        return false;
    }
    iocph__mutex_lock(&d->lock);
    struct io_uring_sqe *sqe = d->closed ? NULL : direct_sqe(d);
    if (!sqe) {
        iocph__mutex_unlock(&d->lock);
        return false;
    }
    iocph__uring_prep_rw(sqe, op);
    io_uring_sqe_set_data(sqe, op);
    op->backend_data = (void *)d; /* iocph__uring_is_direct */
    atomic_fetch_add(&d->inflight, 1);

    if (atomic_fetch_add(&d->unsubmitted, 1) + 1 >= IOCPH__URING_DEVICE_CHUNK) {
        direct_submit_all(d);
    }
    iocph__mutex_unlock(&d->lock);
    return true;
}

void iocph__uring_direct_flush_held(iocph__uring_ring *ring)
{
    iocph__uring_direct *d = &ring->direct;
    iocph__mutex_lock(&d->lock);
    if (!d->closed && io_uring_sq_ready(&d->uring) > 0) {
        direct_submit_all(d);
    }
    iocph__mutex_unlock(&d->lock);
}

/* Ring thread: one ASYNC_CANCEL on the direct ring, of op by user data or, without op, of
 * everything on fd; its own CQE is ignored. */
static void direct_cancel(iocph__uring_ring *ring, const iocph__op *op, int fd)
{
    iocph__uring_direct *d = &ring->direct;
    iocph__mutex_lock(&d->lock);
    struct io_uring_sqe *sqe = d->closed ? NULL : direct_sqe(d);
    if (sqe) {
        if (op) {
            io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
        } else {
            io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
        }
        io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_IGNORE);
        atomic_fetch_add(&d->inflight, 1);
        direct_submit_all(d);
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
    /* Nothing in flight there (the usual close): no system call. Only the ring thread reaps, so
     * anything this handle has on the direct ring is counted. */
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
