/*
 * table.h - the process-wide table behind every opaque port and handle value.
 *
 * A value is ((uint64_t)generation << 32) | (kind << 24) | (index + 1): a forged or stale value
 * fails the generation or kind check and never reaches a reused slot.
 *
 * Each slot's state word packs generation (32 bits), a closing bit and a reference count
 * (31 bits). Acquiring is a CAS that fails once the generation moved or the closing bit is set;
 * the table itself holds one reference from insertion until iocph__table_close. The release that
 * drops the count to zero on a closing slot runs the slot's finalizer, bumps the generation and
 * frees the slot: lock-free lookups, no use-after-free.
 */
#ifndef IOCPH_TABLE_H
#define IOCPH_TABLE_H

#include <stdbool.h>
#include <stdint.h>

typedef void (*iocph__finalizer)(void *object);

/* Inserts object (kind 1..255) with one reference held by the table. Returns 0 or
 * IOCPH_E_NOMEM / IOCPH_E_TOO_MANY_HANDLES; *value receives the public value. Every insert of
 * one kind passes the same finalizer (the table keeps one per kind, not one per slot). */
int32_t iocph__table_insert(uint32_t kind, void *object, iocph__finalizer finalize,
                            uint64_t *value);

/* Takes a reference if value is live and of one of the kinds in kind_mask (bit 1 << kind).
 * Returns the object or NULL (stale, closing, forged, wrong kind). */
void *iocph__table_acquire(uint64_t value, uint32_t kind_mask);

/* Takes one more reference on an object already acquired (value known live). */
void iocph__table_addref(uint64_t value);

/* Takes one more reference only if the value still has one (closing or not). For code that
 * reaches an object through a list rather than through its value, where the last reference may
 * already be gone and the finalizer waiting for a lock (io_uring cancel-all during shutdown). */
bool iocph__table_try_addref(uint64_t value);

/* Drops one reference; the last one on a closing slot runs the finalizer. */
void iocph__table_release(uint64_t value);

/* Sets the closing bit (new acquires fail) and drops the table's reference. Returns true for the
 * caller that closed it, false if it was already closing or stale. The caller must hold its own
 * reference (from acquire) across the call and release it afterwards. */
bool iocph__table_close(uint64_t value);

/* The kind encoded in a value (0 if none). */
static inline uint32_t iocph__value_kind(uint64_t value)
{
    return (uint32_t)(value >> 24) & 0xFFu;
}

#endif
