/* The process-wide table of ports and handles: generation-checked, lock-free lookups (table.h). */
#include "table.h"
#include "iocphybrid.h"
#include "sync.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Slots live in chunks that are allocated on demand and never freed, so a stale value can always
 * be checked against its slot's current generation without touching freed memory. */
#define CHUNK_SHIFT 10
#define CHUNK_SLOTS (1u << CHUNK_SHIFT)
#define MAX_CHUNKS (1u << (24 - CHUNK_SHIFT)) /* 24-bit index: 16M handles */

#define CLOSING_BIT ((uint64_t)1 << 31)
#define REFS_MASK ((uint64_t)CLOSING_BIT - 1)

typedef struct slot {
    _Atomic uint64_t state; /* generation << 32 | closing << 31 | refs */
    void *_Atomic object;
    uint32_t kind;      /* its finalizer is finalizers[kind]: 24 bytes a slot, not 32 */
    uint32_t next_free; /* index + 1, 0 = end */
} slot;

static slot *_Atomic chunks[MAX_CHUNKS];
/* The finalizer of each kind (every value of a kind has the same one). Written under table_lock
 * by the first insert of a kind, before that slot's state is published; every later read is of a
 * slot whose state the reader acquired, so it sees the write. Never written again (a kind keeps
 * its finalizer): no data race. */
static iocph__finalizer finalizers[256];
static uint32_t chunk_count;
static uint32_t free_head;
static iocph__mutex table_lock;

#ifdef _WIN32
static INIT_ONCE table_once = INIT_ONCE_STATIC_INIT;
static BOOL CALLBACK table_init(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    iocph__mutex_init(&table_lock);
    return TRUE;
}
static void ensure_init(void) { InitOnceExecuteOnce(&table_once, table_init, NULL, NULL); }
#else
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static void table_init(void) { iocph__mutex_init(&table_lock); }
static void ensure_init(void) { pthread_once(&table_once, table_init); }
#endif

static slot *slot_at(uint32_t index)
{
    uint32_t c = index >> CHUNK_SHIFT;
    if (c >= MAX_CHUNKS)
        return NULL;
    slot *chunk = atomic_load_explicit(&chunks[c], memory_order_acquire);
    return chunk ? &chunk[index & (CHUNK_SLOTS - 1)] : NULL;
}

static uint64_t make_value(uint32_t generation, uint32_t kind, uint32_t index)
{
    return ((uint64_t)generation << 32) | ((uint64_t)kind << 24) | (uint64_t)(index + 1);
}

int32_t iocph__table_insert(uint32_t kind, void *object, iocph__finalizer finalize,
                            uint64_t *value)
{
    ensure_init();
    iocph__mutex_lock(&table_lock);
    if (free_head == 0) {
        if (chunk_count == MAX_CHUNKS) {
            iocph__mutex_unlock(&table_lock);
            return IOCPH_E_TOO_MANY_HANDLES;
        }
        slot *chunk = calloc(CHUNK_SLOTS, sizeof(slot));
        if (!chunk) {
            iocph__mutex_unlock(&table_lock);
            return IOCPH_E_NOMEM;
        }
        uint32_t base = chunk_count << CHUNK_SHIFT;
        for (uint32_t i = 0; i < CHUNK_SLOTS; i++) {
            /* Generation starts at 1 so that no value is ever 0. Index 0 of chunk 0 maps to
             * value low bits 1: never 0 either. */
            atomic_init(&chunk[i].state, (uint64_t)1 << 32);
            chunk[i].next_free = (i + 1 < CHUNK_SLOTS) ? base + i + 2 : 0;
        }
        atomic_store_explicit(&chunks[chunk_count], chunk, memory_order_release);
        chunk_count++;
        free_head = base + 1;
    }
    uint32_t index = free_head - 1;
    slot *s = slot_at(index);
    free_head = s->next_free;
    if (finalizers[kind & 0xFFu] != finalize)
        finalizers[kind & 0xFFu] = finalize;
    iocph__mutex_unlock(&table_lock);

    s->kind = kind;
    atomic_store_explicit(&s->object, object, memory_order_relaxed);
    uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);
    uint32_t generation = (uint32_t)(st >> 32);
    /* Publishing refs = 1 (the table's reference) makes the slot live. */
    atomic_store_explicit(&s->state, ((uint64_t)generation << 32) | 1u, memory_order_release);
    *value = make_value(generation, kind, index);
    return 0;
}

static slot *decode(uint64_t value, uint32_t *generation)
{
    uint32_t low = (uint32_t)(value & 0xFFFFFFu);
    if (low == 0)
        return NULL;
    *generation = (uint32_t)(value >> 32);
    slot *s = slot_at(low - 1);
    if (!s || s->kind != ((uint32_t)(value >> 24) & 0xFFu))
        return NULL;
    return s;
}

typedef enum state_change {
    TAKE_LIVE,   /* one more reference, only while not closing */
    TAKE_ANY,    /* one more reference, closing or not */
    MARK_CLOSING /* set the closing bit */
} state_change;

/* The one CAS loop behind every change of a slot's state word. It fails when the generation
 * moved, no reference is left (the slot is being recycled), the count would overflow, or (but
 * for TAKE_ANY) the slot is already closing. */
static bool change_state(slot *s, uint32_t generation, state_change change)
{
    uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    for (;;) {
        uint64_t refs = st & REFS_MASK;
        if ((uint32_t)(st >> 32) != generation || refs == 0 || refs == REFS_MASK)
            return false;
        if (change != TAKE_ANY && (st & CLOSING_BIT))
            return false;
        uint64_t next = change == MARK_CLOSING ? (st | CLOSING_BIT) : st + 1;
        if (atomic_compare_exchange_weak_explicit(&s->state, &st, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            return true;
    }
}

void *iocph__table_acquire(uint64_t value, uint32_t kind_mask)
{
    uint32_t kind = (uint32_t)(value >> 24) & 0xFFu;
    if (kind == 0 || kind >= 32 || !(kind_mask & (1u << kind)))
        return NULL;
    uint32_t generation;
    slot *s = decode(value, &generation);
    if (!s)
        return NULL;
    if (!change_state(s, generation, TAKE_LIVE))
        return NULL;
    /* The kind check above read s->kind before we held a reference; recheck now that the slot
     * cannot be recycled under us. */
    if (s->kind != kind) {
        iocph__table_release(value);
        return NULL;
    }
    return atomic_load_explicit(&s->object, memory_order_relaxed);
}

void iocph__table_addref(uint64_t value)
{
    uint32_t generation;
    slot *s = decode(value, &generation);
    if (s)
        atomic_fetch_add_explicit(&s->state, 1, memory_order_relaxed);
}

bool iocph__table_try_addref(uint64_t value)
{
    uint32_t generation;
    slot *s = decode(value, &generation);
    if (!s)
        return false;
    return change_state(s, generation, TAKE_ANY);
}

void iocph__table_release(uint64_t value)
{
    uint32_t generation;
    slot *s = decode(value, &generation);
    if (!s)
        return;
    uint64_t before = atomic_fetch_sub_explicit(&s->state, 1, memory_order_acq_rel);
    if ((before & REFS_MASK) != 1)
        return;
    /* Last reference gone. The table's own reference is only dropped by close, so the closing
     * bit is set: finalize, then recycle the slot under a new generation. */
    void *object = atomic_load_explicit(&s->object, memory_order_relaxed);
    iocph__finalizer finalize = finalizers[s->kind & 0xFFu];
    uint32_t next_generation = generation + 1;
    if (next_generation == 0)
        next_generation = 1;
    atomic_store_explicit(&s->object, NULL, memory_order_relaxed);
    atomic_store_explicit(&s->state, (uint64_t)next_generation << 32, memory_order_release);
    if (finalize)
        finalize(object);
    iocph__mutex_lock(&table_lock);
    s->next_free = free_head;
    free_head = (uint32_t)(value & 0xFFFFFFu);
    iocph__mutex_unlock(&table_lock);
}

bool iocph__table_close(uint64_t value)
{
    uint32_t generation;
    slot *s = decode(value, &generation);
    if (!s)
        return false;
    if (!change_state(s, generation, MARK_CLOSING))
        return false;
    iocph__table_release(value); /* the table's reference */
    return true;
}
