/* iocph_handle_associate: an OS handle the caller already has becomes a handle of a port
 * (CreateIoCompletionPort(handle, port, key, 0)). The backend checks the handle and prepares it
 * (handle_adopt); this file owns the rules every backend shares: arguments, the ownership rule
 * (on failure nothing changed), and the registry that refuses an OS object twice where the OS
 * itself would not (Linux: nothing stops an fd from joining two rings or epoll sets, but two
 * handles owning one object would close it twice and interleave their operations). */
#include "api_shared.h"

#include <stdlib.h>
#include <string.h>

/* iocph_handle_kind -> IOCPH__KIND_*, 0 for an unknown kind. */
static uint32_t internal_kind(int32_t kind)
{
    switch (kind) {
    case IOCPH_HANDLE_FILE: return IOCPH__KIND_FILE;
    case IOCPH_HANDLE_PIPE_READ: return IOCPH__KIND_PIPE_READ;
    case IOCPH_HANDLE_PIPE_WRITE: return IOCPH__KIND_PIPE_WRITE;
    case IOCPH_HANDLE_TCP_LISTENER: return IOCPH__KIND_TCP_LISTENER;
    case IOCPH_HANDLE_TCP: return IOCPH__KIND_TCP;
    case IOCPH_HANDLE_UDP: return IOCPH__KIND_UDP;
    default: return 0;
    }
}

/* ---- the registry: identities of associated OS objects still held ---- */

typedef struct entry {
    uint64_t identity[2];
    iocph__handle *handle;
} entry;

static iocph__mutex registry_lock = IOCPH__MUTEX_STATIC_INIT;
static entry *entries;
static size_t entry_count, entry_capacity;

static bool has_identity(const iocph__adopt *a) { return a->identity[0] || a->identity[1]; }

/* Registers h under the identity before h is published (so that a close racing with the
 * publication finds it): IOCPH_OK, IOCPH_E_ALREADY_ASSOCIATED or IOCPH_E_NOMEM. */
static int32_t reserve(const iocph__adopt *a, iocph__handle *h)
{
    iocph__mutex_lock(&registry_lock);
    int32_t rc = IOCPH_OK;
    for (size_t i = 0; i < entry_count; i++) {
        if (memcmp(entries[i].identity, a->identity, sizeof a->identity) == 0) {
            rc = IOCPH_E_ALREADY_ASSOCIATED;
            break;
        }
    }
    if (rc == IOCPH_OK && entry_count == entry_capacity) {
        size_t capacity = entry_capacity ? entry_capacity * 2 : 16;
        entry *grown = realloc(entries, capacity * sizeof *grown);
        if (grown) {
            entries = grown;
            entry_capacity = capacity;
        } else {
            rc = IOCPH_E_NOMEM;
        }
    }
    if (rc == IOCPH_OK) {
        memcpy(entries[entry_count].identity, a->identity, sizeof a->identity);
        entries[entry_count].handle = h;
        entry_count++;
        h->registered = true;
    }
    iocph__mutex_unlock(&registry_lock);
    return rc;
}

/* Drops the entry reserved for an association that failed (its handle is freed already). */
static void drop(const iocph__adopt *a)
{
    iocph__mutex_lock(&registry_lock);
    for (size_t i = 0; i < entry_count; i++) {
        if (memcmp(entries[i].identity, a->identity, sizeof a->identity) == 0) {
            entries[i] = entries[--entry_count];
            break;
        }
    }
    iocph__mutex_unlock(&registry_lock);
}

void iocph__associate_forget(iocph__handle *h)
{
    iocph__mutex_lock(&registry_lock);
    for (size_t i = 0; i < entry_count; i++) {
        if (entries[i].handle == h) {
            entries[i] = entries[--entry_count];
            break;
        }
    }
    iocph__mutex_unlock(&registry_lock);
    h->registered = false;
}

/* ---- the public function ---- */

int32_t iocph_handle_associate(iocph_port_t port_value, int64_t os_handle, int32_t kind,
                               uint64_t key, uint32_t flags, iocph_handle_t *handle)
{
    if (handle)
        *handle = 0;
    uint32_t internal = internal_kind(kind);
    if (!handle || !internal || (flags & ~(uint32_t)IOCPH_ASSOCIATE_DUPLICATE))
        return IOCPH_E_INVALID_ARGUMENT;
    /* Negative values are never fds, nor (but INVALID_HANDLE_VALUE, refused too) Windows
     * handles; 0 is stdin on Linux and never a valid HANDLE or SOCKET. */
    if (os_handle < 0 || (intptr_t)os_handle != os_handle)
        return IOCPH_E_BADHANDLE;
    int32_t rc;
    iocph__port *port = iocph__port_running(port_value, &rc);
    if (!port)
        return rc;
    iocph__adopt adopt;
    memset(&adopt, 0, sizeof adopt);
    adopt.restore_flags = -1;
    rc = port->backend->handle_adopt(port, internal, (intptr_t)os_handle,
                                     (flags & IOCPH_ASSOCIATE_DUPLICATE) != 0, &adopt);
    if (rc < 0) {
        iocph__port_release(port);
        return rc;
    }
    iocph__handle *h = calloc(1, sizeof *h);
    if (!h)
        rc = IOCPH_E_NOMEM;
    else if (has_identity(&adopt))
        rc = reserve(&adopt, h);
    if (rc < 0) {
        free(h);
        port->backend->handle_unadopt(port, internal, &adopt);
        iocph__port_release(port);
        return rc;
    }
    h->kind = (uint8_t)internal;
    h->flags = (uint16_t)adopt.flags;
    h->key = key;
    h->os = adopt.os;
    h->os_pipe = adopt.os_pipe;
    bool registered = h->registered; /* publication frees h on failure */
    rc = iocph__handle_publish_made(port, h, false, handle);
    if (rc < 0) {
        if (registered)
            drop(&adopt);
        port->backend->handle_unadopt(port, internal, &adopt);
    }
    iocph__port_release(port);
    return rc;
}
