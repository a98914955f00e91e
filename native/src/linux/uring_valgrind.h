/*
 * uring_valgrind.h - tells valgrind memcheck which bytes the kernel wrote through io_uring.
 *
 * memcheck follows system calls: a read(2) or recv(2) marks the bytes it returned as initialised.
 * An io_uring read is an SQE in shared memory that the kernel carries out later, unseen by
 * valgrind, so every byte received that way would look uninitialised to the program that reads it
 * (reports such as "conditional jump depends on uninitialised value" at the caller's first look at
 * its data). Built for the memcheck pass (IOCPH_VALGRIND_ANNOTATIONS, preset linux-x64-memcheck),
 * each completed read marks its bytes as defined, as valgrind's own syscall wrapper would; in
 * every other build this is nothing. Only the bytes the completion reports are marked: a
 * program reading past them is still caught.
 */
#ifndef IOCPH_URING_VALGRIND_H
#define IOCPH_URING_VALGRIND_H

#include "internal.h"

#ifdef IOCPH_VALGRIND_ANNOTATIONS
#include <valgrind/memcheck.h>

static inline void iocph__uring_mark_received(const iocph__op *op, int64_t result)
{
    if (result <= 0) {
        return;
    }
    uint64_t left = (uint64_t)result;
    switch (op->kind) {
    case IOCPH__OP_READ:
    case IOCPH__OP_PIPE_READ:
    case IOCPH__OP_RECEIVE_FROM: /* the result may be a truncated datagram's whole length */
        (void)VALGRIND_MAKE_MEM_DEFINED(op->buffer, left < op->length ? left : op->length);
        break;
    case IOCPH__OP_RECEIVE: /* scattered over the buffers in order */
        if (!op->sock)
            break; /* a wait for data: it peeked into op->value and completes with 0 */
        for (uint32_t i = 0; i < op->sock->buffer_count && left > 0; i++) {
            uint64_t n = iocph__op_buffers(op->sock)[i].length;
            n = left < n ? left : n;
            (void)VALGRIND_MAKE_MEM_DEFINED(iocph__op_buffers(op->sock)[i].data, n);
            left -= n;
        }
        break;
    default: /* nothing else brings bytes in (an accept's peer comes from getpeername) */
        break;
    }
}
#else
static inline void iocph__uring_mark_received(const iocph__op *op, int64_t result)
{
    (void)op;
    (void)result;
}
#endif

#endif
