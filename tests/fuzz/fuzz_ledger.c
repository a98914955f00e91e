/*
 * fuzz_ledger.c - the completion accounting of the API harness (see fuzz_ledger.h).
 */
#include "fuzz_ledger.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

fz_port fz_ports[FZ_MAX_PORTS];
int fz_port_count;
fz_handle fz_handles[FZ_MAX_HANDLES];
int fz_handle_count;
fz_rec fz_recs[FZ_MAX_RECS];
int fz_rec_count;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t delivered = PTHREAD_COND_INITIALIZER;
/* user_data = run << 20 | record index: a completion of an earlier input is recognised. */
static uint64_t run;

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fputs("\nfuzz_api: CONTRACT BROKEN: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}

void fz_lock(void) { pthread_mutex_lock(&lock); }
void fz_unlock(void) { pthread_mutex_unlock(&lock); }

void fz_check_status(const char *call, int32_t status)
{
    if (status != IOCPH_OK && (status > IOCPH_E_UNKNOWN || status < IOCPH_E_WOULD_BLOCK))
        fz_fail("%s returned %d, neither IOCPH_OK nor an IOCPH_E_* code", call, (int)status);
}

void fz_ledger_begin(void)
{
    fz_lock();
    run++;
    memset(fz_ports, 0, sizeof fz_ports);
    memset(fz_handles, 0, sizeof fz_handles);
    memset(fz_recs, 0, sizeof fz_recs);
    fz_port_count = fz_handle_count = fz_rec_count = 0;
    fz_unlock();
}

static void check_canary(const fz_rec *rec, const void *mem, size_t len, const char *what)
{
    const uint8_t *p = mem;
    for (size_t i = 0; i < len; i++) {
        if (p[i] != FZ_CANARY)
            fz_fail("record %d (kind %d, %s): byte %zu of its %s changed to 0x%02x after its "
                    "completion (or although its start was refused)",
                    (int)(rec - fz_recs), (int)rec->kind,
                    rec->state == FZ_REC_REFUSED ? "refused" : "completed", i, what, p[i]);
    }
}

void fz_ledger_end(void)
{
    fz_lock();
    for (int i = 0; i < fz_rec_count; i++) {
        fz_rec *rec = &fz_recs[i];
        if (rec->state == FZ_REC_PENDING)
            fz_fail("record %d (kind %d) never completed", i, (int)rec->kind);
        if (rec->in_buf)
            check_canary(rec, rec->in_buf, rec->in_len, "buffer");
        if (rec->accept)
            check_canary(rec, rec->accept, sizeof *rec->accept, "accept result");
        if (rec->remote)
            check_canary(rec, rec->remote, sizeof *rec->remote, "sender endpoint");
        free(rec->in_buf);
        free(rec->out_buf);
        free(rec->accept);
        free(rec->remote);
    }
    fz_rec_count = 0;
    fz_unlock();
}

/* Page-aligned, so that unbuffered file I/O can be given aligned and misaligned addresses. */
static void *alloc_filled(size_t len, int fill)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, len ? len : 1) != 0)
        fz_fail("out of memory (%zu bytes)", len);
    memset(p, fill, len ? len : 1);
    return p;
}

fz_rec *fz_rec_new(fz_kind kind, int port, int handle, uint64_t key, size_t in_len,
                   size_t out_len)
{
    fz_lock();
    if (fz_rec_count >= FZ_MAX_RECS) {
        fz_unlock();
        return NULL;
    }
    fz_rec *rec = &fz_recs[fz_rec_count++];
    memset(rec, 0, sizeof *rec);
    rec->kind = kind;
    rec->state = FZ_REC_PENDING;
    rec->port = port;
    rec->handle = handle;
    rec->key = key;
    if (in_len) {
        rec->in_buf = alloc_filled(in_len, FZ_CANARY);
        rec->in_len = in_len;
    }
    if (out_len)
        rec->out_buf = alloc_filled(out_len, 0x5A);
    if (kind == FZ_OP_ACCEPT)
        rec->accept = alloc_filled(sizeof *rec->accept, 0);
    rec->send_direction = kind == FZ_OP_SEND || kind == FZ_OP_PIPE_WRITE || kind == FZ_OP_UDP_SEND;
    if (handle >= 0 && kind != FZ_OP_CONNECT) {
        if (rec->send_direction)
            fz_handles[handle].sends++;
        else
            fz_handles[handle].receives++;
    }
    fz_unlock();
    return rec;
}

uint64_t fz_rec_user_data(const fz_rec *rec)
{
    return (run << 20) | (uint64_t)(rec - fz_recs);
}

/* Under the lock: from now on nothing may write the memory the library was given to write
 * (checked at the end of the input). */
static void set_canaries(fz_rec *rec)
{
    if (rec->in_buf)
        memset(rec->in_buf, FZ_CANARY, rec->in_len);
    if (rec->accept)
        memset(rec->accept, FZ_CANARY, sizeof *rec->accept);
    if (rec->remote)
        memset(rec->remote, FZ_CANARY, sizeof *rec->remote);
}

/* Under the lock: the record is over (completed or refused). */
static void rec_finished(fz_rec *rec)
{
    if (rec->handle >= 0 && rec->kind != FZ_OP_CONNECT) {
        fz_handle *h = &fz_handles[rec->handle];
        if (rec->send_direction)
            h->sends--;
        else
            h->receives--;
    }
    free(rec->out_buf);
    rec->out_buf = NULL;
    pthread_cond_broadcast(&delivered);
}

bool fz_trace;

void fz_rec_started(fz_rec *rec, int32_t status)
{
    fz_check_status("a start", status);
    if (fz_trace)
        fprintf(stderr, "  start %d kind %d port %d handle %d: %d\n", (int)(rec - fz_recs),
                (int)rec->kind, rec->port, rec->handle, (int)status);
    fz_lock();
    if (status == IOCPH_OK) {
        fz_ports[rec->port].started++;
    } else {
        if (rec->state != FZ_REC_PENDING)
            fz_fail("record %d (kind %d): a completion (result %lld) came for a start that "
                    "returned %d (%s)",
                    (int)(rec - fz_recs), (int)rec->kind, (long long)rec->result, (int)status,
                    iocph_status_message(status));
        rec->state = FZ_REC_REFUSED;
        /* in_buf holds the canary from its allocation on: a refused start must not touch it */
        uint8_t *in_buf = rec->in_buf;
        rec->in_buf = NULL;
        set_canaries(rec);
        rec->in_buf = in_buf;
        rec_finished(rec);
    }
    fz_unlock();
}

int fz_handle_add(uint64_t value, fz_handle_kind kind, int port, uint64_t key, uint32_t flags)
{
    if (value == 0)
        fz_fail("a call that returned IOCPH_OK gave the handle value 0");
    fz_lock();
    for (int i = 0; i < fz_handle_count; i++) {
        if (fz_handles[i].value == value && fz_handles[i].life == FZ_LIVE)
            fz_fail("a new handle has the value 0x%llx of a live one (handle %d)",
                    (unsigned long long)value, i);
    }
    int index = -1;
    if (fz_handle_count < FZ_MAX_HANDLES) {
        index = fz_handle_count++;
        fz_handles[index] = (fz_handle){.value = value, .kind = kind, .life = FZ_LIVE,
                                        .port = port, .key = key, .file_flags = flags};
    } else {
        fz_ports[port].untracked++;
    }
    fz_unlock();
    return index;
}

int fz_handle_find_live(uint64_t value)
{
    for (int i = 0; i < fz_handle_count; i++) {
        if (fz_handles[i].value == value && fz_handles[i].life == FZ_LIVE)
            return i;
    }
    return -1;
}

/* Under the lock: the result rule of each kind of operation. */
static void check_result(const fz_rec *rec, const iocph_completion *e)
{
    int index = (int)(rec - fz_recs);
    int64_t r = e->result;
    uint32_t allowed = rec->kind == FZ_OP_POST ? IOCPH_COMPLETION_POSTED
                       : rec->kind == FZ_OP_UDP_RECEIVE ? IOCPH_COMPLETION_TRUNCATED
                                                        : 0;
    if ((e->flags & ~allowed) != 0 ||
        (rec->kind == FZ_OP_POST && e->flags != IOCPH_COMPLETION_POSTED))
        fz_fail("record %d (kind %d): completion flags 0x%x", index, (int)rec->kind, e->flags);
    if (e->key != rec->key)
        fz_fail("record %d (kind %d): key 0x%llx, expected 0x%llx", index, (int)rec->kind,
                (unsigned long long)e->key, (unsigned long long)rec->key);
    if (rec->kind == FZ_OP_POST) {
        if (r != rec->value)
            fz_fail("record %d: posted value %lld came back as %lld", index,
                    (long long)rec->value, (long long)r);
        return;
    }
    if (r < 0) {
        if (r > IOCPH_E_UNKNOWN || r < IOCPH_E_WOULD_BLOCK)
            fz_fail("record %d (kind %d): result %lld is no IOCPH_E_* code", index,
                    (int)rec->kind, (long long)r);
        /* A cancel aimed elsewhere (another op, a reused slot) must not reach this one. */
        if (r == IOCPH_E_CANCELED && !rec->cancel_asked)
            fz_fail("record %d (kind %d, op 0x%llx): completed with IOCPH_E_CANCELED, but no "
                    "cancel, close, shutdown or destroy was aimed at it",
                    index, (int)rec->kind, (unsigned long long)rec->op);
        return;
    }
    if (e->os_error != 0)
        fz_fail("record %d (kind %d): result %lld with os_error %d", index, (int)rec->kind,
                (long long)r, (int)e->os_error);
    bool whole = rec->kind == FZ_OP_SEND || rec->kind == FZ_OP_UDP_SEND;
    bool none = rec->kind == FZ_OP_FILE_FLUSH || rec->kind == FZ_OP_CONNECT ||
                rec->kind == FZ_OP_ACCEPT;
    if ((whole && r != (int64_t)rec->length) || (none && r != 0) || r > (int64_t)rec->length)
        fz_fail("record %d (kind %d): result %lld for a length of %u", index, (int)rec->kind,
                (long long)r, rec->length);
    if ((e->flags & IOCPH_COMPLETION_TRUNCATED) && r != (int64_t)rec->length)
        fz_fail("record %d: a truncated datagram filled %lld of %u bytes", index, (long long)r,
                rec->length);
}

/* Under the lock: an accept that completed hands over its socket (or, failed, leaves none). */
static void adopt_accepted(fz_rec *rec, int64_t result)
{
    iocph_accept_result *a = rec->accept;
    if (result < 0) {
        if (a->socket != 0)
            fz_fail("record %d: a failed accept (%lld) left the socket 0x%llx",
                    (int)(rec - fz_recs), (long long)result, (unsigned long long)a->socket);
        return;
    }
    if (a->socket == 0 || (a->remote.family != IOCPH_AF_INET && a->remote.family != IOCPH_AF_INET6))
        fz_fail("record %d: an accept completed with socket 0x%llx, remote family %u",
                (int)(rec - fz_recs), (unsigned long long)a->socket, a->remote.family);
    fz_unlock();
    fz_handle_add(a->socket, FZ_H_TCP, rec->port, rec->accept_key, 0);
    fz_lock();
}

typedef struct fz_action {
    int rec;
    uint32_t what;
} fz_action;

void fz_deliver(int port, const iocph_completion *entries, uint32_t count, bool in_callback)
{
    fz_action actions[64];
    uint32_t nactions = 0;
    fz_lock();
    for (uint32_t i = 0; i < count; i++) {
        const iocph_completion *e = &entries[i];
        uint64_t index = e->user_data & 0xFFFFF;
        if (e->user_data >> 20 != run || index >= (uint64_t)fz_rec_count)
            fz_fail("completion with user_data 0x%llx: no operation of this input has it "
                    "(run %llu, %d records)",
                    (unsigned long long)e->user_data, (unsigned long long)run, fz_rec_count);
        fz_rec *rec = &fz_recs[index];
        if (rec->port != port)
            fz_fail("record %llu of port %d completed on port %d", (unsigned long long)index,
                    rec->port, port);
        if (rec->state != FZ_REC_PENDING)
            fz_fail("record %llu (kind %d): a completion (result %lld) %s", (unsigned long long)index,
                    (int)rec->kind, (long long)e->result,
                    rec->state == FZ_REC_DONE       ? "came twice"
                    : rec->state == FZ_REC_REFUSED  ? "came for a refused start"
                                                    : "came after its pull port was destroyed");
        check_result(rec, e);
        if (fz_trace)
            fprintf(stderr, "  completion %d kind %d: %lld\n", (int)index, (int)rec->kind,
                    (long long)e->result);
        rec->state = FZ_REC_DONE;
        rec->result = e->result;
        fz_ports[port].delivered++;
        if (rec->accept)
            adopt_accepted(rec, e->result);
        set_canaries(rec);
        if (rec->kind == FZ_OP_POST && (rec->value & 3) != 0 && nactions < 64)
            actions[nactions++] = (fz_action){(int)index, (uint32_t)(rec->value & 3)};
        rec_finished(rec);
    }
    iocph_port_t value = fz_ports[port].value;
    fz_unlock();

    for (uint32_t i = 0; i < nactions; i++) {
        const fz_rec *from = &fz_recs[actions[i].rec];
        if (actions[i].what & FZ_POST_WRONGTHREAD) {
            if (in_callback) {
                int32_t s = iocph_port_shutdown(value, 0);
                if (s != IOCPH_E_WRONGTHREAD)
                    fz_fail("iocph_port_shutdown from the port's callback returned %d (%s)", (int)s,
                            iocph_status_message(s));
                s = iocph_port_destroy(value);
                if (s != IOCPH_E_WRONGTHREAD)
                    fz_fail("iocph_port_destroy from the port's callback returned %d (%s)", (int)s,
                            iocph_status_message(s));
            }
        }
        if (actions[i].what & FZ_POST_REPOST) {
            /* A chain: each repost carries the value shifted down, until no action bit is left. */
            int64_t next = (int64_t)((uint64_t)from->value >> 2);
            fz_rec *rec = fz_rec_new(FZ_OP_POST, port, -1, from->key + 1, 0, 0);
            if (!rec)
                continue;
            rec->value = next;
            fz_rec_started(rec, iocph_port_post(value, rec->key, fz_rec_user_data(rec), next));
        }
    }
}

void fz_mark_cancel(uint64_t op, int handle, int port)
{
    fz_lock();
    for (int i = 0; i < fz_rec_count; i++) {
        fz_rec *rec = &fz_recs[i];
        if (rec->state != FZ_REC_PENDING)
            continue;
        if ((op != 0 && rec->op == op) || (handle >= 0 && rec->handle == handle) ||
            (port >= 0 && rec->port == port))
            rec->cancel_asked = true;
    }
    fz_unlock();
}

int fz_pending(int port)
{
    int n = 0;
    fz_lock();
    for (int i = 0; i < fz_rec_count; i++)
        n += fz_recs[i].port == port && fz_recs[i].state == FZ_REC_PENDING;
    fz_unlock();
    return n;
}

int fz_wait_pending(int port, uint32_t timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    fz_lock();
    for (;;) {
        int n = 0;
        for (int i = 0; i < fz_rec_count; i++)
            n += fz_recs[i].port == port && fz_recs[i].state == FZ_REC_PENDING;
        if (n == 0 || pthread_cond_timedwait(&delivered, &lock, &deadline) != 0) {
            fz_unlock();
            return n;
        }
    }
}

void fz_discard_pending(int port)
{
    fz_lock();
    for (int i = 0; i < fz_rec_count; i++) {
        fz_rec *rec = &fz_recs[i];
        if (rec->port != port || rec->state != FZ_REC_PENDING)
            continue;
        rec->state = FZ_REC_DISCARDED;
        set_canaries(rec);
        rec_finished(rec);
    }
    fz_unlock();
}
