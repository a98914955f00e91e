/*
 * uring_direct_reap.c - holders reap the direct ring (IOCPH_PORT_DELIVER_ON_HOLDERS).
 *
 * Why: a thread-pool thread that runs a batch of continuations submits their next reads to the
 * direct ring itself (uring_direct.c), and the kernel posts the completions of its earlier ones
 * while it is in that very io_uring_enter (their task work runs on the submitter). Without this
 * file every such post woke the ring thread through the poll on the direct ring's fd, which then
 * reaped, handed the batch back to the pool and went to sleep again: a wake-up and two context
 * switches per batch on a shared core. Profiled on a memory-backed disk, where the reads are
 * CPU-bound, those were 1.4 us of the 10.7 us of CPU per read of C# with thread-pool
 * continuations (inline: 5.4). Here the holder takes the ready completions at its enters and its
 * release and delivers them to the callback on its own thread (for C#: into the dispatcher queue it
 * is draining), and the ring thread is not told about them at all.
 *
 * How:
 * - The direct CQ signals the ring's wake eventfd (IORING_REGISTER_EVENTFD) instead of a poll on
 *   its fd. While a ring has holders the signal is switched off (IORING_CQ_EVENTFD_DISABLED in
 *   the CQ flags, which only the application writes): the first holder sets it, the last one to
 *   leave clears it, then reaps once more, so a completion posted while it was off is not left.
 *   Set and clear race only towards "on" (an extra wake-up): a holder's own set comes before its
 *   own clear.
 * - One thread owns the CQ at a time (`cq_owner`): a holder tries, and backs off if the ring
 *   thread or another holder has it. The ring thread also takes it to cancel a direct op, since
 *   "the op's generation has not moved" only means "still in flight" while nobody else can finish
 *   it, and marks it gone before it unmaps the ring; the flag's switch takes it too, as the proof
 *   that the ring is still mapped.
 * - Backstops: the ring thread sleeps with a timeout while direct ops are in flight, so what a
 *   holder that blocked left (or a completion that slipped between the kernel's look at the flag
 *   and the last holder's clear) is reaped within IOCPH__URING_TIMED_SLEEP_NS.
 * - A completion is counted out of `inflight` only after it was delivered, so the ring thread
 *   can't close the ring (and the port can't finish its shutdown) under a delivery.
 * Holders reap only when the callback is not capped by the concurrency value (it would block).
 */
#include "uring_internal.h"

#include <sched.h>

/* Completions delivered per callback call from a holder: a bounded stack array. */
#define REAP_BATCH 64u

bool iocph__uring_direct_reap_setup(iocph__uring_ring *ring)
{
    iocph__port *port = ring->port;
    if (!port->deliver_on_holders || port->concurrency < port->worker_threads) {
        return false;
    }
    return io_uring_register_eventfd(&ring->direct.uring, ring->wake_fd) == 0;
}

void iocph__uring_direct_notify(iocph__uring_ring *ring, bool on)
{
    /* Under the CQ's ownership only because it is what tells us the ring is still mapped. */
    if (!ring->direct.holders_reap || !iocph__uring_direct_own(ring)) {
        return;
    }
    unsigned *flags = ring->direct.uring.cq.kflags;
    if (on) {
        __atomic_fetch_and(flags, ~(unsigned)IORING_CQ_EVENTFD_DISABLED, __ATOMIC_SEQ_CST);
    } else {
        __atomic_fetch_or(flags, (unsigned)IORING_CQ_EVENTFD_DISABLED, __ATOMIC_SEQ_CST);
    }
    iocph__uring_direct_disown(ring);
}

bool iocph__uring_direct_try_own(iocph__uring_ring *ring)
{
    int expected = IOCPH__URING_CQ_FREE;
    return !ring->direct.holders_reap ||
           atomic_compare_exchange_strong(&ring->direct.cq_owner, &expected, IOCPH__URING_CQ_OWNED);
}

bool iocph__uring_direct_own(iocph__uring_ring *ring)
{
    /* A holder owns the CQ only while it copies CQEs out and hands them to the callback, which
     * for a port with this flag must not block (the callback rules). */
    while (!iocph__uring_direct_try_own(ring)) {
        if (atomic_load(&ring->direct.cq_owner) == IOCPH__URING_CQ_GONE) {
            return false;
        }
        sched_yield();
    }
    return true;
}

void iocph__uring_direct_disown(iocph__uring_ring *ring)
{
    if (ring->direct.holders_reap) {
        atomic_store(&ring->direct.cq_owner, IOCPH__URING_CQ_FREE);
    }
}

void iocph__uring_direct_close_cq(iocph__uring_ring *ring)
{
    if (ring->direct.holders_reap && iocph__uring_direct_own(ring)) {
        atomic_store(&ring->direct.cq_owner, IOCPH__URING_CQ_GONE);
    }
}

/* A direct op's CQE: only unbuffered reads and writes come here (no lanes, no socket state). */
static void finish_direct(iocph__op *op, int res, iocph_completion *entry)
{
    op->backend_data = NULL;
    if (op->handle) {
        atomic_fetch_sub(&((iocph__uring_handle *)op->handle->backend_data)->ops, 1);
    }
    iocph__op_finish(op, res >= 0 ? res : iocph__uring_map_result(res), res >= 0 ? 0 : -res, entry);
}

void iocph__uring_direct_reap_here(iocph__uring_ring *ring)
{
    iocph__uring_direct *d = &ring->direct;
    if (!d->holders_reap || !iocph__uring_direct_try_own(ring)) {
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
