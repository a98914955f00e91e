/*
 * uring_direct_reap.c - reaping holders (iocph_thread_hold_wakeups_and_reap) take the direct
 * ring's completions at their release.
 *
 * Why: a thread-pool thread that runs a batch of continuations submits their next reads to the
 * direct ring itself (uring_direct.c), and the kernel posts the completions of its earlier ones
 * while it is in its own io_uring_enter (their task work runs on the submitter). Before this
 * file every such post woke the ring thread through the poll on the direct ring's fd, which then
 * reaped, handed the batch back to the pool and went to sleep again: a wake-up and two context
 * switches per batch on a shared core. Profiled on a memory-backed disk, where the reads are
 * CPU-bound, those were about 1.4 us of the 10.7 us of CPU per read of C# with thread-pool
 * continuations (inline: 5.4). A reaping holder takes the ready completions at its release and
 * delivers them to the callback on its own thread (C#: into the dispatcher queue it is draining,
 * which it looks at again after the release), and the ring thread is not told about them.
 *
 * How:
 * - Only at the release, never inside a call that starts an operation: the callback then never
 *   runs inside the caller's own iocph_file_read (its locks, its op not returned yet), and a
 *   continuation that blocks on what it started can't hold back completions it took itself.
 * - The direct CQ signals the ring's wake eventfd (IORING_REGISTER_EVENTFD) instead of a poll on
 *   its fd. While a ring has reapers the signal is off (IORING_CQ_EVENTFD_DISABLED in the CQ
 *   flags, which only the application writes): the first reaper sets it, the last one to leave
 *   clears it and then reaps once more, so a completion posted while it was off is not left. Set
 *   and clear race only towards "on" (an extra wake-up): a reaper's own set comes before its own
 *   clear. The flag word stays mapped until the port is freed (uring_port.c).
 * - A reaper is a holder: counted in ring->holders before the signal goes off and until after it
 *   is back on, so the ring thread sleeps with a timeout all that time and reaps within
 *   IOCPH__URING_TIMED_SLEEP_NS what a reaper that blocked left, or a completion that slipped
 *   between the kernel's look at the flag and the last reaper's clear. Counting the first reaper
 *   wakes a ring asleep without a timeout, so that it re-sleeps with one.
 * - One thread owns the CQ at a time (`cq_owner`): a reaper tries, and backs off if the ring
 *   thread or another reaper has it. The ring thread also takes it to cancel a direct op, since
 *   "the op's generation has not moved" only means "still in flight" while nobody else can finish
 *   it (it retries later rather than wait), and marks it gone when it exits.
 * - A completion is counted out of `inflight` only after it was delivered, so the ring thread
 *   can't exit (and the port can't finish its shutdown) under a delivery.
 * Holders reap only on push ports whose callback the concurrency value does not cap (a reaper
 * would have to wait for a slot).
 */
#include "uring_internal.h"

#include <sched.h>

/* Completions delivered per callback call from a reaper: a bounded stack array. */
#define REAP_BATCH 64u

bool iocph__uring_direct_reap_setup(iocph__uring_ring *ring)
{
    iocph__port *port = ring->port;
    if (!port->callback || port->concurrency < port->worker_threads) {
        return false;
    }
    return io_uring_register_eventfd(&ring->direct.uring, ring->wake_fd) == 0;
}

static void cq_signal(iocph__uring_ring *ring, bool on)
{
    unsigned *flags = ring->direct.uring.cq.kflags;
    if (on) {
        __atomic_fetch_and(flags, ~(unsigned)IORING_CQ_EVENTFD_DISABLED, __ATOMIC_SEQ_CST);
    } else {
        __atomic_fetch_or(flags, (unsigned)IORING_CQ_EVENTFD_DISABLED, __ATOMIC_SEQ_CST);
    }
}

bool iocph__uring_direct_try_own(iocph__uring_ring *ring)
{
    int expected = IOCPH__URING_CQ_FREE;
    return !ring->direct.holders_reap ||
           atomic_compare_exchange_strong(&ring->direct.cq_owner, &expected, IOCPH__URING_CQ_OWNED);
}

void iocph__uring_direct_disown(iocph__uring_ring *ring)
{
    if (ring->direct.holders_reap) {
        atomic_store(&ring->direct.cq_owner, IOCPH__URING_CQ_FREE);
    }
}

void iocph__uring_direct_close_cq(iocph__uring_ring *ring)
{
    /* Nothing is in flight (the ring thread is exiting): a reaper owns it only for a look. */
    while (!iocph__uring_direct_try_own(ring)) {
        sched_yield();
    }
    if (ring->direct.holders_reap) {
        atomic_store(&ring->direct.cq_owner, IOCPH__URING_CQ_GONE);
    }
}

/* A direct op's CQE: only unbuffered reads and writes come here (no lanes, no socket state). */
static void finish_direct(iocph__op *op, int res, iocph_completion *entry)
{
    op->backend_data = NULL;
    iocph__uring_op_done(op, res >= 0 ? res : iocph__uring_map_result(res), res >= 0 ? 0 : -res, entry);
}

/* Delivers the CQ's ready completions on this thread, unless another thread owns the CQ. */
static void reap_here(iocph__uring_ring *ring)
{
    iocph__uring_direct *d = &ring->direct;
    if (!iocph__uring_direct_try_own(ring)) {
        return;
    }
    iocph_completion batch[REAP_BATCH];
    uint32_t max = ring->port->max_batch < REAP_BATCH ? ring->port->max_batch : REAP_BATCH;
    for (;;) {
        unsigned head, taken = 0;
        uint32_t count = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&d->uring, head, cqe)
        {
            taken++;
            /* Besides ops, only cancels' own results (IOCPH__URING_TAG_IGNORE) come here. */
            if ((cqe->user_data & IOCPH__URING_TAG_MASK) == IOCPH__URING_TAG_OP) {
                finish_direct((iocph__op *)(uintptr_t)cqe->user_data, cqe->res, &batch[count++]);
            }
            if (count == max) {
                break;
            }
        }
        if (taken == 0) {
            break;
        }
        io_uring_cq_advance(&d->uring, taken);
        iocph__deliver(ring->port, batch, count);
        atomic_fetch_sub(&d->inflight, taken);
    }
    iocph__uring_direct_disown(ring);
}

void iocph__uring_direct_reaper_arrives(iocph__uring_ring *ring)
{
    if (!ring->direct.holders_reap || atomic_fetch_add(&ring->direct.reapers, 1) > 0) {
        return;
    }
    cq_signal(ring, false);
    if (atomic_load(&ring->sleeping) == IOCPH__URING_SLEEP_UNTIMED) {
        iocph__uring_wake_if_sleeping(ring); /* it re-sleeps with a timeout while we hold */
    }
}

void iocph__uring_direct_reaper_leaves(iocph__uring_ring *ring)
{
    if (!ring->direct.holders_reap) {
        return;
    }
    reap_here(ring);
    if (atomic_fetch_sub(&ring->direct.reapers, 1) == 1) {
        cq_signal(ring, true);
        reap_here(ring); /* what was posted while the signal was off */
    }
}
