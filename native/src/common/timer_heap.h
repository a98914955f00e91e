/* Per-operation timeouts for backends whose OS has no per-operation timer (epoll): a binary
 * min-heap of deadlines owned by one worker thread. A timer lives inside the operation's backend
 * block and knows its own place in the heap, so removing it (the operation completed or was
 * cancelled first) costs O(log n) and no search. */
#ifndef IOCPH_TIMER_HEAP_H
#define IOCPH_TIMER_HEAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct iocph__timer {
    uint64_t deadline_ms; /* iocph__now_ms() clock */
    uint32_t slot;        /* index + 1 in the heap; 0 = not armed */
} iocph__timer;

typedef struct iocph__timer_heap {
    iocph__timer **items;
    uint32_t count, capacity;
} iocph__timer_heap;

/* Arms timer (deadline_ms set by the caller). IOCPH_E_NOMEM if the heap can't grow. */
int32_t iocph__timer_heap_add(iocph__timer_heap *heap, iocph__timer *timer);
/* Disarms timer if it is armed. */
void iocph__timer_heap_remove(iocph__timer_heap *heap, iocph__timer *timer);
/* The earliest armed timer, or NULL. */
static inline iocph__timer *iocph__timer_heap_first(const iocph__timer_heap *heap)
{
    return heap->count ? heap->items[0] : 0;
}
/* Milliseconds until the earliest deadline from now_ms (0 if due), or -1 with no timer. */
int iocph__timer_heap_wait_ms(const iocph__timer_heap *heap, uint64_t now_ms);
void iocph__timer_heap_free(iocph__timer_heap *heap);

#endif
