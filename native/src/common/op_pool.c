/* The per-port operation pool: no malloc per operation in steady state, stable addresses (the
 * OS writes into an op until its completion arrives), generation-checked public values. */
#include "api_shared.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static iocph__op *op_at(iocph__op_pool *pool, uint32_t index)
{
    uint32_t c = index >> IOCPH__POOL_CHUNK_SHIFT;
    if (c >= IOCPH__POOL_CHUNKS)
        return NULL;
    iocph__op *chunk = atomic_load_explicit(&pool->chunks[c], memory_order_acquire);
    return chunk ? &chunk[index & (IOCPH__POOL_CHUNK_OPS - 1)] : NULL;
}

/* Adds one chunk of ops to the free list. Called with pool->lock held. */
static int32_t grow(iocph__op_pool *pool)
{
    if (pool->chunk_count == IOCPH__POOL_CHUNKS)
        return IOCPH_E_NOMEM;
    iocph__op *chunk = calloc(IOCPH__POOL_CHUNK_OPS, sizeof(iocph__op));
    if (!chunk)
        return IOCPH_E_NOMEM;
    uint32_t base = pool->chunk_count << IOCPH__POOL_CHUNK_SHIFT;
    for (uint32_t i = 0; i < IOCPH__POOL_CHUNK_OPS; i++) {
        chunk[i].index = base + i;
        atomic_init(&chunk[i].generation, 1u);
        chunk[i].next_free = (i + 1 < IOCPH__POOL_CHUNK_OPS) ? base + i + 2 : pool->free_head;
    }
    atomic_store_explicit(&pool->chunks[pool->chunk_count], chunk, memory_order_release);
    pool->chunk_count++;
    pool->free_head = base + 1;
    return 0;
}

int32_t iocph__pool_init(iocph__op_pool *pool, uint32_t initial_ops)
{
    memset(pool, 0, sizeof *pool);
    pool->chunks = calloc(IOCPH__POOL_CHUNKS, sizeof(*pool->chunks));
    if (!pool->chunks)
        return IOCPH_E_NOMEM;
    iocph__mutex_init(&pool->lock);
    while ((pool->chunk_count << IOCPH__POOL_CHUNK_SHIFT) < initial_ops) {
        int32_t rc = grow(pool);
        if (rc < 0) {
            iocph__pool_destroy(pool);
            return rc;
        }
    }
    return 0;
}

static void free_block(iocph__op_socket *s)
{
    free(s->gather);
    free(s->backend_extra);
    free(s);
}

void iocph__pool_destroy(iocph__op_pool *pool)
{
    if (!pool->chunks)
        return;
    /* Nothing is in flight any more: every block is back on the free list (a block still on an
     * op would be a lost completion; freed all the same, so that the port leaks nothing). */
    while (pool->sock_free) {
        iocph__op_socket *s = pool->sock_free;
        pool->sock_free = s->next_free;
        free_block(s);
    }
    for (uint32_t c = 0; c < pool->chunk_count; c++) {
        iocph__op *chunk = atomic_load_explicit(&pool->chunks[c], memory_order_relaxed);
        for (uint32_t i = 0; i < IOCPH__POOL_CHUNK_OPS; i++) {
            if (chunk[i].sock)
                free_block(chunk[i].sock);
        }
        free(chunk);
    }
    free((void *)pool->chunks);
    pool->chunks = NULL;
    iocph__mutex_destroy(&pool->lock);
}

iocph__op *iocph__op_alloc(iocph__port *port)
{
    return iocph__op_alloc_with(port, false);
}

iocph__op *iocph__op_alloc_with(iocph__port *port, bool sock_block)
{
    iocph__op_pool *pool = &port->pool;
    iocph__mutex_lock(&pool->lock);
    if (pool->free_head == 0 && grow(pool) < 0) {
        iocph__mutex_unlock(&pool->lock);
        return NULL;
    }
    iocph__op *op = op_at(pool, pool->free_head - 1);
    pool->free_head = op->next_free;
    iocph__op_socket *s = NULL;
    if (sock_block && pool->sock_free) {
        s = pool->sock_free;
        pool->sock_free = s->next_free;
    }
    iocph__mutex_unlock(&pool->lock);
    if (sock_block && !s) {
        /* None free: the port makes one more (outside the lock: callocs are not for under it). */
        s = calloc(1, sizeof(iocph__op_socket) + port->backend->op_ext_size);
        if (!s) {
            iocph__mutex_lock(&pool->lock);
            op->next_free = pool->free_head;
            pool->free_head = op->index + 1;
            iocph__mutex_unlock(&pool->lock);
            return NULL;
        }
        atomic_fetch_add_explicit(&pool->sock_blocks, 1, memory_order_relaxed); /* no lock for a count */
    }
    /* Only the allocating thread touches the op before it is submitted: no race on op->sock. */
    op->sock = s;

    /* Reset what the previous user left; index, generation and lock stay. */
#ifdef _WIN32
    memset(&op->ov, 0, sizeof op->ov);
#endif
    op->port = port;
    op->handle = NULL;
    op->user_data = 0;
    op->key = 0;
    op->buffer = NULL;
    op->length = 0;
    op->offset = 0;
    op->value = 0;
    op->next = NULL;
    op->backend_data = NULL;
    op->completion_flags = 0;
    atomic_store_explicit(&op->backend_state, 0, memory_order_relaxed);
    op->backend_error = 0;
    op->kind = IOCPH__OP_FREE; /* the caller sets the real kind once the op is filled in */
    return op;
}

void iocph__op_free(iocph__op *op)
{
    iocph__op_pool *pool = &op->port->pool;
    iocph__spin_lock(&op->lock);
    uint32_t generation = atomic_load_explicit(&op->generation, memory_order_relaxed) + 1;
    atomic_store_explicit(&op->generation, generation ? generation : 1u, memory_order_relaxed);
    op->kind = IOCPH__OP_FREE;
    /* Detached under op->lock: whoever holds it and still sees the op's generation (a cancel, a
     * timer, IOCP's recheck of a pending op) may read the block, which stays this op's until
     * then. */
    iocph__op_socket *s = op->sock;
    op->sock = NULL;
    iocph__spin_unlock(&op->lock);

    iocph__mutex_lock(&pool->lock);
    op->next_free = pool->free_head;
    pool->free_head = op->index + 1;
    if (s) {
        s->next_free = pool->sock_free;
        pool->sock_free = s;
    }
    iocph__mutex_unlock(&pool->lock);
}

/* Test hook, not in the public header (tests/native/test_hooks.h declares it): the socket
 * blocks the port has made and how many of them no op holds. */
IOCPH_API int32_t iocph__test_socket_blocks(iocph_port_t port_value, uint64_t *made,
                                            uint64_t *idle)
{
    int32_t rc;
    iocph__port *port = iocph__port_running(port_value, &rc);
    if (!port)
        return rc;
    uint64_t n = 0;
    iocph__mutex_lock(&port->pool.lock);
    for (iocph__op_socket *s = port->pool.sock_free; s; s = s->next_free)
        n++;
    *made = atomic_load_explicit(&port->pool.sock_blocks, memory_order_relaxed);
    *idle = n;
    iocph__mutex_unlock(&port->pool.lock);
    iocph__port_release(port);
    return IOCPH_OK;
}

iocph__op *iocph__op_at(iocph__port *port, uint32_t index)
{
    return op_at(&port->pool, index);
}

iocph__op *iocph__op_lock_live(iocph__port *port, iocph_op_t value)
{
    uint32_t generation = (uint32_t)(value >> 32);
    iocph__op *op = op_at(&port->pool, (uint32_t)value);
    if (!op || generation == 0)
        return NULL;
    iocph__spin_lock(&op->lock);
    if (atomic_load_explicit(&op->generation, memory_order_relaxed) != generation ||
        op->kind == IOCPH__OP_FREE) {
        iocph__spin_unlock(&op->lock);
        return NULL;
    }
    return op;
}
