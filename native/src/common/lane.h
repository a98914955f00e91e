/* A lane: one direction of a byte stream (a pipe end, a TCP socket's sends or receives, a UDP
 * socket's datagrams, a listener's accepts). Two sends (or two receives) in the kernel at once
 * on one stream can interleave their bytes or complete out of order, so a lane works on its head
 * only and keeps the rest waiting, in the order they were started. A FIFO linked through op->next;
 * owned by one thread (the worker that owns the handle), so it takes no lock. */
#ifndef IOCPH_LANE_H
#define IOCPH_LANE_H

#include "internal.h"

typedef struct iocph__lane {
    iocph__op *head, *tail;
} iocph__lane;

static inline bool iocph__lane_empty(const iocph__lane *lane) { return lane->head == NULL; }

/* Appends op; true if it is now the head (nothing ahead of it: start it at once). */
static inline bool iocph__lane_push(iocph__lane *lane, iocph__op *op)
{
    op->next = NULL;
    if (lane->tail)
        lane->tail->next = op;
    else
        lane->head = op;
    lane->tail = op;
    return lane->head == op;
}

/* Removes op wherever it is (the head when it completes; anywhere when it is cancelled or times
 * out). Returns false if op is not in the lane. Lanes are short: a linear walk is fine. */
static inline bool iocph__lane_remove(iocph__lane *lane, iocph__op *op)
{
    iocph__op *prev = NULL;
    for (iocph__op *o = lane->head; o; prev = o, o = o->next) {
        if (o != op)
            continue;
        if (prev)
            prev->next = o->next;
        else
            lane->head = o->next;
        if (lane->tail == o)
            lane->tail = prev;
        o->next = NULL;
        return true;
    }
    return false;
}

#endif
