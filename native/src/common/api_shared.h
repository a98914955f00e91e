/* Helpers shared by the public-function files (api_port.c, api_handle.c). */
#ifndef IOCPH_API_SHARED_H
#define IOCPH_API_SHARED_H

#include "internal.h"

/* A reference on a live port, or NULL (stale, forged, destroyed). */
iocph__port *iocph__port_acquire(iocph_port_t value);
void iocph__port_release(iocph__port *port);

/* Counts one operation in flight if the port still runs: IOCPH_OK or IOCPH_E_SHUTDOWN.
 * Incrementing before checking the state is what lets shutdown's drain see every operation
 * that got past the check. */
int32_t iocph__port_enter(iocph__port *port);
/* Undoes iocph__port_enter for an operation that never reached the OS. */
void iocph__port_leave(iocph__port *port);

/* A reference on a port that still runs; NULL with *rc = IOCPH_E_BADHANDLE / IOCPH_E_SHUTDOWN. */
iocph__port *iocph__port_running(iocph_port_t value, int32_t *rc);

/* Every handle kind (for close, cancel and cancel-all). */
#define IOCPH__ANY_HANDLE_KINDS                                                                  \
    ((1u << IOCPH__KIND_FILE) | (1u << IOCPH__KIND_PIPE_READ) | (1u << IOCPH__KIND_PIPE_WRITE) | \
     (1u << IOCPH__KIND_TCP_LISTENER) | (1u << IOCPH__KIND_TCP) | (1u << IOCPH__KIND_UDP))

/* The unbuffered-I/O rule (IOCPH_UNBUFFERED_ALIGNMENT) for a buffer, a length and an offset. */
static inline bool iocph__unbuffered_aligned(const void *buffer, uint64_t length, uint64_t offset)
{
    const uint64_t mask = IOCPH_UNBUFFERED_ALIGNMENT - 1;
    return (((uint64_t)(uintptr_t)buffer | length | offset) & mask) == 0;
}

/* Wraps an OS handle already opened for the port into a table entry (files, pipes, sockets,
 * accepted sockets). On failure the OS handle is closed, so the caller has nothing to undo. */
int32_t iocph__handle_publish(iocph__port *port, uint32_t kind, intptr_t os, uint32_t flags,
                              uint64_t key, iocph_handle_t *out);
/* The same for a handle the caller allocated and filled (kind, flags, key, os and what else it
 * needs): sets its port, attaches it and inserts it. On failure h is freed, and its OS handle
 * closed if close_on_failure. */
int32_t iocph__handle_publish_made(iocph__port *port, iocph__handle *h, bool close_on_failure,
                                   iocph_handle_t *out);
/* Drops a finalized handle from the association registry (api_associate.c). */
void iocph__associate_forget(iocph__handle *h);
/* Closes an OS handle that never became a table entry (through the backend, which knows how). */
void iocph__close_unpublished(iocph__port *port, uint32_t kind, intptr_t os);

/* Starting an operation, in three steps so that each kind can fill in its own fields:
 *   begin:  takes a reference on a live handle of one of kind_mask's kinds, counts the op in
 *           flight and takes an op from the pool (op->handle and op->key set);
 *   abort:  undoes begin for an op that will not be submitted;
 *   submit: hands the op to the backend; on error no completion will come (op freed), on
 *           success *op_out (may be NULL) receives its value. Also closes the race with a
 *           concurrent iocph_handle_close. */
int32_t iocph__io_begin(iocph_handle_t value, uint32_t kind_mask, iocph__op **op);
/* begin with a socket block lent to the op (op->sock) when sock_block is set. */
int32_t iocph__io_begin_with(iocph_handle_t value, uint32_t kind_mask, bool sock_block,
                             iocph__op **op);
void iocph__io_abort(iocph__op *op);
int32_t iocph__io_submit(iocph__op *op, iocph_op_t *op_out);

#endif
