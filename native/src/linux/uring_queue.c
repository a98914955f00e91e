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

static void wake_if_sleeping(iocph__uring_ring *ring)
{
    if (atomic_load(&ring->sleeping) && atomic_exchange(&ring->sleeping, 0)) {
        iocph__uring_wake(ring);
    }
}

void iocph__uring_push_op(iocph__uring_ring *ring, iocph__op *op)
{
    iocph__op *head = atomic_load_explicit(&ring->submit_stack, memory_order_relaxed);
    do {
        op->next = head;
    } while (!atomic_compare_exchange_weak(&ring->submit_stack, &head, op));
    /* Posts and ops started by the ring's own callbacks are picked up before it sleeps. A thread
     * that holds its wake-ups wakes the ring once, at its release, unless the ring sleeps with no
     * timeout: then only a wake-up now bounds the wait (see IOCPH__URING_SLEEP_*). */
    if (iocph__uring_current != ring &&
        (atomic_load(&ring->sleeping) == IOCPH__URING_SLEEP_UNTIMED ||
         !iocph__wake_deferred(ring->port, ring->index))) {
        wake_if_sleeping(ring);
    }
}

void iocph__uring_worker_wake(iocph__port *port, uint32_t worker)
{
    iocph__uring_port *up = iocph__uring_port_of(port);
    if (up && worker < up->ring_count) {
        wake_if_sleeping(&up->rings[worker]);
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
        wake_if_sleeping(ring);
    }
    return true;
}
