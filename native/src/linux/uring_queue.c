/*
 * uring_queue.c - how other threads hand work to a ring thread.
 *
 * Two intrusive lock-free stacks per ring (a CAS to push; the ring thread takes a whole stack
 * with one exchange and reverses it, so each producer's order is kept). A stack is enough: with
 * a single consumer that always takes everything there is no ABA problem.
 *
 * Waking: the ring thread sets `sleeping` before it blocks and re-checks both stacks after;
 * a producer pushes and then reads `sleeping`. Both sides use sequentially consistent
 * operations (a Dekker handshake), so either the ring sees the new work or the producer sees
 * the flag. Only the producer that flips the flag back to 0 writes the eventfd: one system call
 * per sleep of the ring, not per operation.
 */
#include "uring_internal.h"

#include <errno.h>
#include <unistd.h>

void iocph__uring_wake(iocph__uring_ring *ring)
{
    uint64_t one = 1;
    /* An eventfd write only fails on counter overflow (impossible here: the ring's read resets
     * it) or EINTR. */
    while (write(ring->wake_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

void iocph__uring_wake_if_sleeping(iocph__uring_ring *ring)
{
    if (atomic_load(&ring->sleeping) && atomic_exchange(&ring->sleeping, 0)) {
        iocph__uring_wake(ring);
    }
}

static void wake_for_push(iocph__uring_ring *ring);

void iocph__uring_push_op(iocph__uring_ring *ring, iocph__op *op)
{
    iocph__op *head = atomic_load_explicit(&ring->submit_stack, memory_order_relaxed);
    do {
        op->next = head;
    } while (!atomic_compare_exchange_weak(&ring->submit_stack, &head, op));
    /* Posts and ops started by the ring's own callbacks are picked up before it sleeps. */
    if (iocph__uring_current != ring) {
        wake_for_push(ring);
    }
}

/* A thread that holds its wake-ups (iocph_thread_hold_wakeups) counts itself in ring->holders
 * before it looks at `sleeping`; a ring that sees holders sleeps with a timeout (uring_loop.c). */
bool *iocph__uring_hold_counted(iocph__uring_ring *ring)
{
    bool first, reaper;
    bool *owed = iocph__wake_hold(ring->port, ring->index, &first, &reaper);
    if (owed && first) {
        atomic_fetch_add(&ring->holders, 1);
        if (reaper) {
            iocph__uring_direct_reaper_arrives(ring); /* a holder first (uring_direct_reap.c) */
        }
    }
    return owed;
}

/* For work the ring thread must pick up: asleep without a timeout -> wake it now (it then
 * re-sleeps with one while we hold); asleep with a timeout -> owe the wake-up to the release (or
 * the timeout bounds the wait, should the holder block first); awake -> it re-checks its stacks
 * before it sleeps (Dekker, above). */
bool *iocph__uring_hold(iocph__uring_ring *ring)
{
    bool *owed = iocph__uring_hold_counted(ring);
    if (owed && atomic_load(&ring->sleeping) == IOCPH__URING_SLEEP_UNTIMED) {
        iocph__uring_wake_if_sleeping(ring);
    }
    return owed;
}

static void wake_for_push(iocph__uring_ring *ring)
{
    bool *owed = iocph__uring_hold(ring);
    if (!owed) {
        iocph__uring_wake_if_sleeping(ring);
    } else if (atomic_load(&ring->sleeping) == IOCPH__URING_SLEEP_TIMED) {
        *owed = true;
    }
}

void iocph__uring_worker_release(iocph__port *port, uint32_t worker, bool pending, bool reaper)
{
    iocph__uring_port *up = iocph__uring_port_of(port);
    if (up && worker < up->ring_count) {
        iocph__uring_ring *ring = &up->rings[worker];
        iocph__uring_direct_flush(ring); /* what this holder held back on the direct ring */
        if (reaper) {
            iocph__uring_direct_reaper_leaves(ring); /* still a holder while it does */
        }
        atomic_fetch_sub(&ring->holders, 1);
        if (pending) {
            iocph__uring_wake_if_sleeping(ring);
        }
    }
}

bool iocph__uring_push_request(iocph__uring_ring *ring, iocph__uring_request *request)
{
    /* Cancels are rare, so a lock here is cheap; it closes the window in which the ring thread
     * decided to exit but port_stop has not yet collected what is left on the stacks. */
    iocph__mutex_lock(&ring->exit_lock);
    if (ring->exited) {
        iocph__mutex_unlock(&ring->exit_lock);
        return false;
    }
    iocph__uring_request *head = atomic_load_explicit(&ring->request_stack, memory_order_relaxed);
    do {
        request->next = head;
    } while (!atomic_compare_exchange_weak(&ring->request_stack, &head, request));
    iocph__mutex_unlock(&ring->exit_lock);
    if (iocph__uring_current != ring) {
        iocph__uring_wake_if_sleeping(ring);
    }
    return true;
}
