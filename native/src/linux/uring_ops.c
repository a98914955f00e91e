/*
 * uring_ops.c - starting, posting and cancelling, as called from any thread.
 *
 * Nothing here touches a ring from another thread: work is queued to the ring thread that owns
 * the handle (uring_queue.c) and everything else happens there (uring_loop.c). Two shortcuts: a
 * file op started on the ring's own thread (by its callback) is prepared in place, and an
 * unbuffered read or write started on any other thread goes into the direct ring (uring_direct.c).
 */
#include "uring_internal.h"

#include <stdlib.h>

int32_t iocph__uring_op_submit(iocph__op *op)
{
    bool file_op = iocph__op_is_file_io(op);
    if (iocph__op_is_socket(op)) {
        int32_t rc = iocph__uring_sock_begin(op);
        if (rc < 0) {
            return rc;
        }
    } else if (!file_op && op->kind != IOCPH__OP_PIPE_READ && op->kind != IOCPH__OP_PIPE_WRITE) {
        return IOCPH_E_INVALID_ARGUMENT;
    }
    iocph__uring_handle *hd = (iocph__uring_handle *)op->handle->backend_data;
    /* Counted before it is queued; iocph_handle_close sets `closing` before it reads this
     * (both sequentially consistent), so either it sees the op or the starter sees `closing`
     * and cancels the op itself. */
    atomic_fetch_add(&hd->ops, 1);
    iocph__uring_ring *ring = iocph__uring_ring_of(op->handle);
    if (file_op) {
        if (iocph__uring_current == ring) {
            iocph__uring_prep_file_op(ring, op); /* from this ring's callback: into the SQ now */
            return IOCPH_OK;
        }
        if (iocph__uring_direct_submit(ring, op)) {
            return IOCPH_OK; /* an unbuffered read or write under a hold: the direct ring */
        }
    }
    iocph__uring_push_op(ring, op);
    return IOCPH_OK;
}

int32_t iocph__uring_port_post(iocph__port *port, iocph__op *op)
{
    iocph__uring_port *up = iocph__uring_port_of(port);
    iocph__uring_ring *ring = iocph__uring_current;
    /* A post from a callback stays on its own ring (no wake-up needed); others spread out. */
    if (!ring || ring->port != port) {
        uint32_t n = atomic_fetch_add_explicit(&up->next_ring, 1, memory_order_relaxed);
        ring = &up->rings[n % up->ring_count];
    }
    iocph__uring_push_op(ring, op);
    return IOCPH_OK;
}

/* No lock: the request names the op by its slot and the generation the caller saw live, and
 * the ring thread, the only one that finishes the handle's ops, acts only on that generation.
 * The handle's reference (the caller's) keeps its ring choice stable. */
int32_t iocph__uring_op_cancel(iocph__handle *handle, iocph__op *op, uint32_t generation)
{
    iocph__uring_request *req = calloc(1, sizeof *req);
    if (!req) {
        return IOCPH_E_NOMEM;
    }
    req->kind = IOCPH__URING_CANCEL_OP;
    req->op = op;
    req->generation = generation;
    if (!iocph__uring_push_request(iocph__uring_ring_of(handle), req)) {
        free(req); /* the ring has stopped: nothing of it is in flight */
    }
    return IOCPH_OK;
}

int32_t iocph__uring_handle_cancel_all(iocph__handle *handle)
{
    iocph__uring_handle *hd = (iocph__uring_handle *)handle->backend_data;
    if (atomic_load(&hd->ops) == 0) {
        return IOCPH_OK; /* nothing in flight (an op started concurrently may or may not be) */
    }
    if (atomic_exchange(&hd->cancel_all_queued, 1)) {
        /* Already queued and not yet taken by the ring: that pass will cover everything
         * started before this call too (the ring takes cancels before submissions). */
        return IOCPH_OK;
    }
    /* The request keeps the handle (and hd) alive until the ring has taken it. A handle
     * without any reference left has nothing in flight: nothing to cancel. */
    if (!iocph__table_try_addref(handle->value)) {
        atomic_store(&hd->cancel_all_queued, 0);
        return IOCPH_OK;
    }
    hd->cancel_all.kind = IOCPH__URING_CANCEL_ALL;
    hd->cancel_all.handle = handle;
    if (!iocph__uring_push_request(iocph__uring_ring_of(handle), &hd->cancel_all)) {
        atomic_store(&hd->cancel_all_queued, 0);
        iocph__table_release(handle->value);
    }
    return IOCPH_OK;
}
