/* The timeout heap (timer_heap.h). */
#include "timer_heap.h"

#include "iocphybrid.h"

#include <limits.h>
#include <stdlib.h>

static void place(iocph__timer_heap *heap, uint32_t i, iocph__timer *t)
{
    heap->items[i] = t;
    t->slot = i + 1;
}

static void sift_up(iocph__timer_heap *heap, uint32_t i)
{
    iocph__timer *t = heap->items[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (heap->items[parent]->deadline_ms <= t->deadline_ms)
            break;
        place(heap, i, heap->items[parent]);
        i = parent;
    }
    place(heap, i, t);
}

static void sift_down(iocph__timer_heap *heap, uint32_t i)
{
    iocph__timer *t = heap->items[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= heap->count)
            break;
        if (child + 1 < heap->count &&
            heap->items[child + 1]->deadline_ms < heap->items[child]->deadline_ms)
            child++;
        if (heap->items[child]->deadline_ms >= t->deadline_ms)
            break;
        place(heap, i, heap->items[child]);
        i = child;
    }
    place(heap, i, t);
}

int32_t iocph__timer_heap_add(iocph__timer_heap *heap, iocph__timer *timer)
{
    if (heap->count == heap->capacity) {
        uint32_t capacity = heap->capacity ? heap->capacity * 2 : 64;
        iocph__timer **grown = realloc(heap->items, (size_t)capacity * sizeof *grown);
        if (!grown)
            return IOCPH_E_NOMEM;
        heap->items = grown;
        heap->capacity = capacity;
    }
    heap->items[heap->count] = timer;
    sift_up(heap, heap->count++);
    return IOCPH_OK;
}

void iocph__timer_heap_remove(iocph__timer_heap *heap, iocph__timer *timer)
{
    if (timer->slot == 0)
        return;
    uint32_t i = timer->slot - 1;
    timer->slot = 0;
    iocph__timer *last = heap->items[--heap->count];
    if (i == heap->count)
        return;
    place(heap, i, last);
    if (i > 0 && heap->items[(i - 1) / 2]->deadline_ms > last->deadline_ms)
        sift_up(heap, i);
    else
        sift_down(heap, i);
}

int iocph__timer_heap_wait_ms(const iocph__timer_heap *heap, uint64_t now_ms)
{
    const iocph__timer *first = iocph__timer_heap_first(heap);
    if (!first)
        return -1;
    if (first->deadline_ms <= now_ms)
        return 0;
    uint64_t wait = first->deadline_ms - now_ms;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

void iocph__timer_heap_free(iocph__timer_heap *heap)
{
    free(heap->items);
    heap->items = NULL;
    heap->count = heap->capacity = 0;
}
