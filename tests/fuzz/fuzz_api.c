/*
 * fuzz_api.c - a libFuzzer harness for the whole public C API (native/include/iocphybrid.h).
 *
 * What it does
 *   Each fuzz input is a small program. The first two bytes configure port 0 (push or pull mode,
 *   workers, queue depth, batch size); then each instruction is one selector byte (op_table
 *   below) followed by the argument bytes that instruction reads (a missing byte reads as 0).
 *   Instructions create ports, files (in a private scratch directory), pipe pairs, loopback TCP
 *   listeners/connections and UDP sockets, start every kind of operation on them, post packets,
 *   dequeue, cancel, close, shut ports down and destroy them, hold and release wake-ups, call
 *   the try_* functions and the synchronous queries. Arguments range over what callers get wrong:
 *   handles live, closed, stale (of a destroyed port), of the wrong kind, forged (random 64-bit
 *   values, a live value with another generation or kind, 0); lengths 0, 1, small, page
 *   multiples, 1 MiB, and larger than IOCPH_MAX_IO_LENGTH; offsets past the end of the file and
 *   beyond INT64_MAX; NULL and misaligned buffers; bad endpoints, flags, options and sizes.
 *
 * What it checks (fuzz_ledger.c; a broken rule aborts, libFuzzer keeps the input)
 *   - every status is IOCPH_OK or an IOCPH_E_* code; what the header says must be refused is
 *     (stale/forged handles, huge lengths, NULL buffers, starts after shutdown, ...);
 *   - exactly once: a start that returned an error never gets a completion, a start that returned
 *     IOCPH_OK gets exactly one, on its own port, with its handle's key; before the port is
 *     destroyed every one of them has arrived (push: when shutdown returns; pull: dequeued);
 *   - results in range (bytes <= length, whole sends, flags only where they belong), an accept
 *     that fails leaves no socket, one that succeeds gives a live handle;
 *   - buffers: memory the library writes into is overwritten with a canary at its completion (or
 *     at the destroy that discarded it) and must still hold it at the end of the input; memory it
 *     reads is freed at the completion (AddressSanitizer sees any later read); arrays the header
 *     says are copied are freed as soon as the call returns;
 *   - shutdown/destroy from a callback answer IOCPH_E_WRONGTHREAD; after shutdown the port's
 *     statistics agree with the harness's own counts; after destroy every value is stale;
 *   - between inputs (one process runs them all): no descriptor and no thread is left behind
 *     (and LeakSanitizer, -detect_leaks=1, no memory).
 *
 * Run it (docs/fuzzing.md): ./build.sh fuzz --minutes N [--backend io_uring|epoll], or by hand:
 *   cmake --preset linux-x64-fuzz && cmake --build --preset linux-x64-fuzz -j2
 *   artifacts/native/linux-x64-fuzz/fuzz_api -max_total_time=60 NEW_DIR tests/fuzz/corpus/fuzz_api
 *   IOCPH_BACKEND=epoll artifacts/native/linux-x64-fuzz/fuzz_api ...
 */
#include "fuzz_ledger.h"
#include "fuzz_process.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_INSTRUCTIONS 160
#define MAX_REAL_LENGTH (1u << 20)
#define FORGED_INDEX (-1)

/* ---- the input reader: bytes past the end read as 0 ---- */

typedef struct fz_in {
    const uint8_t *p;
    size_t n, i;
} fz_in;

static uint8_t u8(fz_in *in) { return in->i < in->n ? in->p[in->i++] : 0; }
static uint16_t u16(fz_in *in) { return (uint16_t)(u8(in) | (uint16_t)u8(in) << 8); }
static uint32_t u32(fz_in *in) { return (uint32_t)u16(in) | (uint32_t)u16(in) << 16; }
static uint64_t u64(fz_in *in) { return (uint64_t)u32(in) | (uint64_t)u32(in) << 32; }

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond))                                                                             \
            fz_fail(__VA_ARGS__);                                                                \
    } while (0)

/* ---- argument pickers ---- */

/* A port argument: index in fz_ports (or FORGED_INDEX) and the value passed. */
typedef struct fz_pick {
    int index;
    uint64_t value;
} fz_pick;

static fz_pick pick_port(fz_in *in)
{
    uint8_t b = u8(in);
    fz_pick k = {FORGED_INDEX, 0};
    if (b < 0xF0 && fz_port_count > 0) {
        k.index = b % fz_port_count;
        k.value = fz_ports[k.index].value;
        return k;
    }
    if (b == 0xFE)
        return k;
    k.value = b == 0xFF && fz_port_count > 0 ? fz_ports[0].value ^ (1ull << 32) : u64(in);
    for (int i = 0; i < fz_port_count; i++) {
        if (fz_ports[i].value == k.value)
            k.index = i;
    }
    return k;
}

static bool port_live(int index) { return index >= 0 && fz_ports[index].life == FZ_LIVE; }

/* A handle argument, mostly one of the wanted kind (mask of 1 << fz_handle_kind). */
static fz_pick pick_handle(fz_in *in, uint32_t kinds)
{
    uint8_t b = u8(in);
    fz_pick k = {FORGED_INDEX, 0};
    int matching[FZ_MAX_HANDLES], m = 0;
    for (int i = 0; i < fz_handle_count; i++) {
        if (kinds & (1u << fz_handles[i].kind))
            matching[m++] = i;
    }
    if (b < 0xC0 && m > 0) {
        k.index = matching[b % m];
    } else if (b < 0xE0 && fz_handle_count > 0) {
        k.index = b % fz_handle_count;
    } else if (b < 0xF0 && fz_handle_count > 0) {
        /* another generation, or another kind, of a real value */
        uint64_t v = fz_handles[b % fz_handle_count].value;
        k.value = (b & 1) ? v + (1ull << 32) : v ^ ((uint64_t)(1 + (b >> 1 & 3)) << 24);
    } else if (b != 0xFE) {
        k.value = u64(in);
    }
    if (k.index >= 0) {
        k.value = fz_handles[k.index].value;
    } else {
        k.index = fz_handle_find_live(k.value);
    }
    return k;
}

/* A handle that must accept a start: live, of a live port that is not shut down. */
static bool handle_usable(int index)
{
    return index >= 0 && fz_handles[index].life == FZ_LIVE &&
           !fz_ports[fz_handles[index].port].stopping;
}

static int port_of(fz_pick h) { return h.index >= 0 ? fz_handles[h.index].port : 0; }

static uint32_t pick_length(fz_in *in)
{
    uint8_t b = u8(in);
    switch (b & 7) {
    case 0: return 0;
    case 1: return 1;
    case 2: return 1u + u8(in);
    case 3: return 4096u * (1u + (u8(in) & 3u));
    case 4: return 65536u;
    case 5: return (b & 0x80) ? MAX_REAL_LENGTH : 513u;
    case 6: return IOCPH_MAX_IO_LENGTH + 1u + u8(in);
    default: return 0x80000000u | u32(in);
    }
}

/* How many bytes to allocate for a length: lengths beyond MAX_REAL_LENGTH must be refused. */
static size_t real_length(uint32_t length) { return length <= MAX_REAL_LENGTH ? length : 64; }

static uint64_t pick_offset(fz_in *in)
{
    switch (u8(in) & 7) {
    case 0: return 0;
    case 1: return u8(in);
    case 2: return 4096ull * u8(in);
    case 3: return (1ull << 20) + u16(in);
    case 4: return (uint64_t)INT64_MAX - u8(in);
    case 5: return (uint64_t)INT64_MAX + 1u + u8(in);
    case 6: return UINT64_MAX;
    default: return u64(in);
    }
}

static uint32_t pick_timeout(fz_in *in)
{
    uint8_t b = u8(in);
    return (b & 3) == 0 ? (uint32_t)(b >> 2) % 20u : 0;
}

/* A buffer argument for `length` bytes at `base`: normal, NULL, or misaligned by one byte. */
static uint8_t *pick_buffer(uint8_t mode, uint8_t *base)
{
    switch (mode & 7) {
    case 6: return NULL;
    case 7: return base + 1;
    default: return base;
    }
}

static iocph_endpoint loopback(bool v6, uint16_t port)
{
    iocph_endpoint e;
    memset(&e, 0, sizeof e);
    e.family = v6 ? IOCPH_AF_INET6 : IOCPH_AF_INET;
    e.port = port;
    if (v6)
        e.address[15] = 1;
    else
        memcpy(e.address, "\x7f\x00\x00\x01", 4);
    return e;
}

/* The local endpoint of one of the handles of the given kinds (or a fixed unused one). */
static iocph_endpoint endpoint_of(fz_in *in, uint32_t kinds)
{
    fz_pick h = pick_handle(in, kinds);
    iocph_endpoint e = loopback(false, 1);
    if (h.index >= 0 && fz_handles[h.index].life == FZ_LIVE)
        fz_check_status("get_endpoint", iocph_socket_get_endpoint(h.value, IOCPH_ENDPOINT_LOCAL, &e));
    return e;
}

/* An endpoint argument: local kinds reached over loopback, or broken ones. must_refuse is set
 * when the header says the call refuses it. */
static iocph_endpoint pick_remote(fz_in *in, uint32_t kinds, bool *must_refuse)
{
    uint8_t b = u8(in);
    iocph_endpoint e;
    switch (b & 7) {
    case 0:
    case 1:
    case 2: return endpoint_of(in, kinds);
    case 3: return loopback((b & 8) != 0, (uint16_t)(1 + u8(in)));
    case 4:
        e = endpoint_of(in, kinds);
        e.port = 0;
        *must_refuse = true;
        return e;
    case 5:
        e = endpoint_of(in, kinds);
        e.family = (uint16_t)(u8(in) | 1); /* never 4 nor 6 */
        if (e.family == 5 || e.family == 7)
            e.family = 99;
        *must_refuse = true;
        return e;
    case 6:
        e = endpoint_of(in, kinds);
        /* an IPv4 port number reached over IPv6 (refused by the IPv6-only listener) or the
         * reverse */
        return e.family == IOCPH_AF_INET ? loopback(true, e.port) : loopback(false, e.port);
    default:
        memset(&e, (int)u8(in), sizeof e);
        e.family = IOCPH_AF_INET;
        e.port = (uint16_t)(1 + u8(in));
        memcpy(e.address, "\x7f\x00\x00\x01", 4);
        return e;
    }
}

/* A local endpoint to bind: loopback with port 0, another loopback address, a port in use, an
 * address this host lacks, or junk; and flags for the calls that take them. */
static iocph_endpoint pick_local(fz_in *in, uint32_t *flags, bool *must_refuse)
{
    uint8_t b = u8(in);
    *flags = (uint32_t)(b >> 4) & 3u;
    bool v6 = (b & 8) != 0;
    iocph_endpoint e = loopback(v6, 0);
    switch (b & 7) {
    case 0:
    case 1:
    case 2: break;
    case 3: memcpy(e.address, "\x7f\x00\x00\x02", 4); e.family = IOCPH_AF_INET; break;
    case 4: e = endpoint_of(in, (1u << FZ_H_LISTENER) | (1u << FZ_H_UDP)); break;
    case 5: memcpy(e.address, "\xc0\x00\x02\x01", 4); e.family = IOCPH_AF_INET; break;
    case 6: e.family = (uint16_t)(7 + u8(in)); *must_refuse = true; break;
    default: e.port = u16(in); break;
    }
    return e;
}

/* The header's rule for socket flags at bind: DUAL_MODE is refused for an IPv4 endpoint. */
static bool flags_refused(const iocph_endpoint *local, uint32_t flags)
{
    return local->family == IOCPH_AF_INET && (flags & IOCPH_SOCKET_DUAL_MODE) != 0;
}

/* ---- ports ---- */

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    fz_deliver((int)(intptr_t)context, entries, count, true);
}

static void op_port_create(fz_in *in)
{
    uint8_t a = u8(in), b = u8(in);
    if (fz_port_count >= FZ_MAX_PORTS)
        return;
    int index = fz_port_count;
    static const uint32_t depths[4] = {0, 1, 4, 16};
    static const uint32_t batches[4] = {0, 1, 3, 1025};
    iocph_port_options o;
    CHECK(iocph_port_options_init(&o) == IOCPH_OK, "iocph_port_options_init failed");
    bool push = (a & 1) == 0;
    o.callback = push ? on_batch : NULL;
    o.callback_context = (void *)(intptr_t)index;
    o.worker_threads = (a >> 1) & 3u;
    o.queue_depth = depths[(a >> 3) & 3];
    o.max_batch = batches[(a >> 5) & 3];
    o.concurrency = b & 3u;
    bool must_refuse = o.max_batch > 1024;
    if (b & 0x40) {
        o.size = (b & 0x80) ? 4 : (uint32_t)sizeof o + 8;
        must_refuse = o.size < sizeof o;
    }
    if ((b & 0x3C) == 0x3C) {
        o.backend = (b & 0x80) ? IOCPH_BACKEND_IOCP : 77;
        must_refuse = true;
    }
    iocph_port_t port = 0;
    int32_t s = iocph_port_create((b & 0x3C) == 0x38 ? NULL : &o, &port);
    fz_check_status("iocph_port_create", s);
    if ((b & 0x3C) == 0x38)
        CHECK(s != IOCPH_OK, "iocph_port_create(NULL options) returned IOCPH_OK");
    if (s != IOCPH_OK)
        return;
    CHECK(!must_refuse, "iocph_port_create accepted bad options (size %u, batch %u, backend %d)",
          o.size, o.max_batch, (int)o.backend);
    CHECK(port != 0, "iocph_port_create gave the port value 0");
    fz_lock();
    fz_ports[index] = (fz_port){.value = port, .life = FZ_LIVE, .push = push};
    fz_port_count++;
    fz_unlock();
}

/* Dequeues what a pull port has (timeout_ms for the first wait). Returns the status. */
static int32_t dequeue_some(int index, uint64_t value, uint32_t max, uint32_t timeout_ms)
{
    iocph_completion entries[64];
    uint32_t count = 12345;
    int32_t s = iocph_port_dequeue(value, entries, max, timeout_ms, &count);
    fz_check_status("iocph_port_dequeue", s);
    if (s == IOCPH_OK) {
        CHECK(index >= 0, "iocph_port_dequeue on a forged port returned IOCPH_OK");
        CHECK(count >= 1 && count <= max, "iocph_port_dequeue returned %u entries for max %u",
              count, max);
        fz_deliver(index, entries, count, false);
    } else if (s == IOCPH_E_TIMEOUT || s == IOCPH_E_SHUTDOWN) {
        CHECK(count == 0, "iocph_port_dequeue failed (%d) with count %u", (int)s, count);
    }
    return s;
}

static void op_dequeue(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint8_t b = u8(in);
    uint32_t max = (b & 0x80) ? 0 : 1u + (b & 63u);
    uint32_t timeout = (b & 0x40) ? 1 : 0;
    if (max == 0) {
        iocph_completion e;
        uint32_t count;
        int32_t s = iocph_port_dequeue(p.value, &e, 0, 0, &count);
        CHECK(s != IOCPH_OK, "iocph_port_dequeue with max 0 returned IOCPH_OK");
        s = iocph_port_dequeue(p.value, NULL, 4, 0, &count);
        CHECK(s != IOCPH_OK, "iocph_port_dequeue with entries NULL returned IOCPH_OK");
        return;
    }
    int32_t s = dequeue_some(p.index, p.value, max, timeout);
    if (port_live(p.index) && fz_ports[p.index].push)
        CHECK(s == IOCPH_E_WRONG_MODE, "iocph_port_dequeue on a push port returned %d", (int)s);
    if (p.index < 0 || !port_live(p.index))
        CHECK(s == IOCPH_E_BADHANDLE, "iocph_port_dequeue on a stale/forged port returned %d",
              (int)s);
    else if (!fz_ports[p.index].push && fz_ports[p.index].shut)
        CHECK(s == IOCPH_E_SHUTDOWN, "iocph_port_dequeue after the shutdown completed returned %d",
              (int)s);
}

/* Pull mode: shuts down with repeated zero waits, dequeuing in between, until done. */
static int32_t drain_and_shutdown(int index)
{
    fz_port *port = &fz_ports[index];
    time_t start = time(NULL);
    for (;;) {
        int32_t s = iocph_port_shutdown(port->value, port->push ? UINT32_MAX : 0);
        fz_check_status("iocph_port_shutdown", s);
        if (s != IOCPH_E_TIMEOUT)
            return s;
        CHECK(!port->push, "iocph_port_shutdown(forever) of a push port timed out");
        while (dequeue_some(index, port->value, 64, 1) == IOCPH_OK) {
        }
        CHECK(time(NULL) - start < 30, "a pull port's shutdown did not finish in 30 s (%d owed)",
              fz_pending(index));
    }
}

/* The port is shut down and every completion delivered: its statistics agree with the ledger. */
static void check_stats_after_shutdown(int index)
{
    fz_port *port = &fz_ports[index];
    CHECK(fz_pending(index) == 0, "port %d: %d completions owed after its shutdown returned", index,
          fz_pending(index));
    iocph_port_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    int32_t s = iocph_port_get_stats(port->value, &st);
    CHECK(s == IOCPH_OK, "iocph_port_get_stats of a shut-down port returned %d", (int)s);
    uint64_t open = port->untracked;
    fz_lock();
    for (int i = 0; i < fz_handle_count; i++)
        open += fz_handles[i].port == index && fz_handles[i].life == FZ_LIVE;
    fz_unlock();
    CHECK(st.ops_in_flight == 0 && st.ops_started == port->started &&
              st.completions_delivered == port->delivered && st.handles_open == open,
          "port %d stats after shutdown: in flight %llu, started %llu (harness %llu), delivered "
          "%llu (harness %llu), handles %llu (harness %llu)",
          index, (unsigned long long)st.ops_in_flight, (unsigned long long)st.ops_started,
          (unsigned long long)port->started, (unsigned long long)st.completions_delivered,
          (unsigned long long)port->delivered, (unsigned long long)st.handles_open,
          (unsigned long long)open);
}

static void mark_port_destroyed(int index)
{
    fz_lock();
    fz_ports[index].life = FZ_STALE;
    for (int i = 0; i < fz_handle_count; i++) {
        if (fz_handles[i].port == index && fz_handles[i].life == FZ_LIVE)
            fz_handles[i].life = FZ_STALE;
    }
    fz_unlock();
}

static void op_port_shutdown(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint8_t b = u8(in);
    bool live = port_live(p.index);
    bool push = live && fz_ports[p.index].push;
    uint32_t timeout = (b & 3) == 0 ? 0 : (b & 3) == 1 ? 3 : push ? UINT32_MAX : 1;
    bool was_shut = live && fz_ports[p.index].shut;
    if (live)
        fz_mark_cancel(0, -1, p.index);
    int32_t s = iocph_port_shutdown(p.value, timeout);
    fz_check_status("iocph_port_shutdown", s);
    if (!live) {
        CHECK(s == IOCPH_E_BADHANDLE, "iocph_port_shutdown of a stale/forged port returned %d",
              (int)s);
        return;
    }
    if (was_shut)
        CHECK(s == IOCPH_E_SHUTDOWN, "a second iocph_port_shutdown returned %d", (int)s);
    CHECK(s == IOCPH_OK || s == IOCPH_E_TIMEOUT || s == IOCPH_E_SHUTDOWN,
          "iocph_port_shutdown returned %d (%s)", (int)s, iocph_status_message(s));
    if (timeout == UINT32_MAX)
        CHECK(s != IOCPH_E_TIMEOUT, "iocph_port_shutdown(forever) timed out");
    if (s == IOCPH_OK || s == IOCPH_E_TIMEOUT)
        fz_ports[p.index].stopping = true;
    if (s == IOCPH_OK) {
        fz_ports[p.index].shut = true;
        check_stats_after_shutdown(p.index);
    }
}

static void destroy_port(int index, bool drain_first)
{
    fz_port *port = &fz_ports[index];
    fz_mark_cancel(0, -1, index);
    if (port->push || drain_first) {
        int32_t s = drain_and_shutdown(index);
        CHECK(s == IOCPH_OK || (s == IOCPH_E_SHUTDOWN && port->shut),
              "iocph_port_shutdown returned %d (%s)", (int)s, iocph_status_message(s));
        port->shut = port->stopping = true;
        check_stats_after_shutdown(index);
    }
    int32_t s = iocph_port_destroy(port->value);
    CHECK(s == IOCPH_OK, "iocph_port_destroy of a live port returned %d (%s)", (int)s,
          iocph_status_message(s));
    if (port->push)
        CHECK(fz_pending(index) == 0, "port %d: %d completions owed after its destroy", index,
              fz_pending(index));
    else
        fz_discard_pending(index);
    mark_port_destroyed(index);
}

static void op_port_destroy(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint8_t b = u8(in);
    if (port_live(p.index)) {
        /* Push ports: destroy straight away, which must still deliver everything. Pull ports:
         * drained first (every completion checked), or not (the undelivered are discarded). */
        if (fz_ports[p.index].push && (b & 1)) {
            fz_mark_cancel(0, -1, p.index);
            int32_t s = iocph_port_destroy(p.value);
            CHECK(s == IOCPH_OK, "iocph_port_destroy returned %d", (int)s);
            CHECK(fz_pending(p.index) == 0, "port %d: %d completions owed after its destroy",
                  p.index, fz_pending(p.index));
            mark_port_destroyed(p.index);
        } else {
            destroy_port(p.index, (b & 1) == 0);
        }
        return;
    }
    int32_t s = iocph_port_destroy(p.value);
    CHECK(s == IOCPH_E_BADHANDLE, "iocph_port_destroy of a stale/forged port returned %d", (int)s);
}

static void op_post(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint64_t key = u8(in);
    int64_t value = (int64_t)u64(in);
    fz_rec *rec = fz_rec_new(FZ_OP_POST, p.index >= 0 ? p.index : 0, -1, key, 0, 0);
    if (!rec)
        return;
    rec->value = value;
    int32_t s = iocph_port_post(p.value, key, fz_rec_user_data(rec), value);
    CHECK(s != IOCPH_OK || (port_live(p.index) && !fz_ports[p.index].stopping),
          "iocph_port_post on a %s port returned IOCPH_OK",
          p.index < 0 ? "forged" : port_live(p.index) ? "shut-down" : "destroyed");
    fz_rec_started(rec, s);
}

static void op_stats_and_queries(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint8_t b = u8(in);
    iocph_port_stats st;
    memset(&st, 0, sizeof st);
    st.size = (b & 1) ? 8 : sizeof st;
    int32_t s = iocph_port_get_stats(p.value, (b & 2) ? NULL : &st);
    fz_check_status("iocph_port_get_stats", s);
    CHECK(s != IOCPH_OK || (port_live(p.index) && !(b & 3)),
          "iocph_port_get_stats returned IOCPH_OK (size %u, stats %s, port %d)", st.size,
          (b & 2) ? "NULL" : "given", p.index);
    int32_t backend = -1, reason = -1, os_error = -1;
    s = iocph_port_get_backend(p.value, (b & 4) ? NULL : &backend);
    fz_check_status("iocph_port_get_backend", s);
    if (s == IOCPH_OK)
        CHECK(backend == IOCPH_BACKEND_IO_URING || backend == IOCPH_BACKEND_EPOLL,
              "iocph_port_get_backend gave %d", (int)backend);
    s = iocph_port_get_backend_reason(p.value, (b & 8) ? NULL : &reason,
                                      (b & 16) ? NULL : &os_error);
    fz_check_status("iocph_port_get_backend_reason", s);
    CHECK(s != IOCPH_OK || port_live(p.index), "iocph_port_get_backend_reason on a stale port");
    int32_t any = (int32_t)u32(in);
    s = iocph_backend_probe(any & 7, (b & 32) ? NULL : &reason, &os_error);
    fz_check_status("iocph_backend_probe", s);
    CHECK(iocph_backend_name(any) && iocph_backend_reason_message(any) && iocph_status_message(any),
          "a name/message function returned NULL for %d", (int)any);
    CHECK(iocph_version() == IOCPH_VERSION, "iocph_version differs from the header's");
}

/* ---- holds ---- */

static int hold_depth;

static void op_hold(fz_in *in)
{
    uint8_t b = u8(in);
    if ((b & 3) == 0 && hold_depth > 0) {
        iocph_thread_release_wakeups();
        hold_depth--;
    } else if (hold_depth < 4) {
        if (b & 1)
            iocph_thread_hold_wakeups_and_reap();
        else
            iocph_thread_hold_wakeups();
        hold_depth++;
    }
}

/* ---- handles: cancel, close ---- */

/* Whether an operation of handle `index` was started (not refused) with the value `op`; under
 * fz_lock. */
static bool handle_started_op(int index, iocph_op_t op)
{
    for (int i = 0; i < fz_rec_count; i++) {
        const fz_rec *r = &fz_recs[i];
        if (r->handle == index && r->op == op &&
            (r->state == FZ_REC_PENDING || r->state == FZ_REC_DONE))
            return true;
    }
    return false;
}

static void op_cancel(fz_in *in)
{
    fz_pick h = pick_handle(in, ~0u);
    uint8_t b = u8(in);
    iocph_op_t op = 0;
    const fz_rec *rec = NULL;
    bool all = b >= 0xF8;
    if (fz_rec_count > 0 && b < 0xF0) {
        rec = &fz_recs[u16(in) % fz_rec_count];
        op = rec->op;
    } else if (b >= 0xF0 && (b & 1)) {
        op = u64(in);
    }
    if (all)
        fz_mark_cancel(0, h.index, -1);
    else if (op != 0)
        fz_mark_cancel(op, -1, -1);
    int32_t s = all ? iocph_handle_cancel_all(h.value) : iocph_op_cancel(h.value, op);
    fz_check_status("cancel", s);
    bool live = h.index >= 0 && fz_handles[h.index].life == FZ_LIVE;
    if (!live)
        CHECK(s == IOCPH_E_BADHANDLE || (s == IOCPH_E_NOTPENDING && op == 0),
              "cancel on a closed/stale/forged handle returned %d", (int)s);
    else
        CHECK(s == IOCPH_OK || s == IOCPH_E_NOTPENDING || s == IOCPH_E_INVALID_ARGUMENT,
              "cancel on a live handle returned %d (%s)", (int)s, iocph_status_message(s));
    if (rec && s == IOCPH_OK && !all) {
        fz_lock();
        /* An op value names a pool slot and its generation within one port: a record of another
         * port (or a refused start) can carry the very value of an operation this handle has in
         * flight, and then the cancel rightly reaches that one. Foreign only if no operation of
         * this handle started with that value. */
        bool foreign = (rec->handle != h.index || rec->state == FZ_REC_REFUSED) &&
                       !handle_started_op(h.index, op);
        fz_unlock();
        CHECK(!foreign, "iocph_op_cancel of an operation that is not the handle's (or was refused) "
                        "returned IOCPH_OK");
    }
}

static void op_close(fz_in *in)
{
    fz_pick h = pick_handle(in, ~0u);
    if (h.index >= 0)
        fz_mark_cancel(0, h.index, -1);
    int32_t s = iocph_handle_close(h.value);
    fz_check_status("iocph_handle_close", s);
    if (h.index >= 0 && fz_handles[h.index].life == FZ_LIVE) {
        CHECK(s == IOCPH_OK, "iocph_handle_close of a live handle returned %d (%s)", (int)s,
              iocph_status_message(s));
        fz_lock();
        fz_handles[h.index].life = FZ_CLOSED;
        fz_unlock();
    } else {
        CHECK(s == IOCPH_E_BADHANDLE, "iocph_handle_close of a closed/stale/forged value returned %d",
              (int)s);
    }
}

/* The shared rule of every start: what must be refused is, and the ledger learns the outcome. */
static void started(fz_rec *rec, fz_pick h, bool must_refuse, int32_t s, const char *call)
{
    if (s == IOCPH_OK) {
        CHECK(handle_usable(h.index),
              "%s on a %s handle returned IOCPH_OK", call,
              h.index < 0 ? "forged" : fz_handles[h.index].life != FZ_LIVE ? "closed/stale"
                                                                          : "shut-down port's");
        CHECK(!must_refuse, "%s returned IOCPH_OK for arguments the header refuses", call);
    }
    fz_rec_started(rec, s);
}

/* ---- files ---- */

static void op_file_open(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint8_t which = u8(in);
    uint32_t flags = u8(in) & 0x7Fu;
    uint64_t key = u8(in);
    char path[4200];
    const char *arg = path;
    switch (which & 7) {
    case 5: snprintf(path, sizeof path, "%s", fz_scratch_dir()); break;       /* a directory */
    case 6: snprintf(path, sizeof path, "%s/no/such", fz_scratch_dir()); break;
    case 7: arg = (which & 8) ? NULL : ""; break;
    default: snprintf(path, sizeof path, "%s/f%d", fz_scratch_dir(), which & 3); break;
    }
    iocph_handle_t file = 0;
    int32_t s = iocph_file_open(p.value, arg, flags, key, (which & 0x80) ? NULL : &file);
    fz_check_status("iocph_file_open", s);
    if (s != IOCPH_OK)
        return;
    CHECK(port_live(p.index) && !fz_ports[p.index].stopping && arg && (which & 0x80) == 0 &&
              (flags & (IOCPH_FILE_READ | IOCPH_FILE_WRITE)) != 0,
          "iocph_file_open returned IOCPH_OK (port %d, path %s, flags 0x%x)", p.index,
          arg ? arg : "NULL", flags);
    fz_handle_add(file, FZ_H_FILE, p.index, key, flags);
}

/* The record of a plain read or write of `length` bytes on handle h: a buffer of that many bytes
 * (and one more, for the misaligned variant) the library writes into or reads from. */
static fz_rec *new_io_rec(fz_kind kind, fz_pick h, uint32_t length, bool write)
{
    size_t real = real_length(length) + 1;
    fz_rec *rec = fz_rec_new(kind, port_of(h), h.index, h.index >= 0 ? fz_handles[h.index].key : 0,
                             write ? 0 : real, write ? real : 0);
    if (rec)
        rec->length = length;
    return rec;
}

static void op_file_io(fz_in *in, bool write)
{
    fz_pick h = pick_handle(in, 1u << FZ_H_FILE);
    uint32_t length = pick_length(in);
    uint64_t offset = pick_offset(in);
    uint8_t mode = u8(in);
    fz_rec *rec = new_io_rec(write ? FZ_OP_FILE_WRITE : FZ_OP_FILE_READ, h, length, write);
    if (!rec)
        return;
    uint8_t *buf = pick_buffer(mode, write ? rec->out_buf : rec->in_buf);
    bool must_refuse = length == 0 || length > IOCPH_MAX_IO_LENGTH || buf == NULL ||
                       offset > (uint64_t)INT64_MAX;
    iocph_op_t *op = (mode & 8) ? NULL : &rec->op;
    int32_t s = write ? iocph_file_write(h.value, buf, length, offset, fz_rec_user_data(rec), op)
                      : iocph_file_read(h.value, buf, length, offset, fz_rec_user_data(rec), op);
    fz_check_status(write ? "iocph_file_write" : "iocph_file_read", s);
    started(rec, h, must_refuse, s, write ? "iocph_file_write" : "iocph_file_read");
}

static void op_file_read(fz_in *in) { op_file_io(in, false); }
static void op_file_write(fz_in *in) { op_file_io(in, true); }

static void op_file_flush(fz_in *in)
{
    fz_pick h = pick_handle(in, 1u << FZ_H_FILE);
    fz_rec *rec = fz_rec_new(FZ_OP_FILE_FLUSH, port_of(h), h.index,
                             h.index >= 0 ? fz_handles[h.index].key : 0, 0, 0);
    if (!rec)
        return;
    int32_t s = iocph_file_flush(h.value, fz_rec_user_data(rec), (u8(in) & 1) ? NULL : &rec->op);
    started(rec, h, false, s, "iocph_file_flush");
}

static void op_file_sync(fz_in *in)
{
    fz_pick h = pick_handle(in, 1u << FZ_H_FILE);
    uint8_t b = u8(in);
    if (b & 1) {
        uint64_t length = 0;
        int32_t s = iocph_file_get_length(h.value, (b & 2) ? NULL : &length);
        fz_check_status("iocph_file_get_length", s);
        bool live = h.index >= 0 && fz_handles[h.index].life == FZ_LIVE;
        CHECK(s != IOCPH_OK || (live && !(b & 2)), "iocph_file_get_length returned IOCPH_OK");
        if (live && !(b & 2) && fz_handles[h.index].kind == FZ_H_FILE)
            CHECK(s == IOCPH_OK, "iocph_file_get_length of a live file returned %d", (int)s);
        return;
    }
    uint32_t length = pick_length(in);
    uint64_t offset = pick_offset(in);
    size_t real = real_length(length);
    uint8_t *mem = NULL;
    if (posix_memalign((void **)&mem, 4096, real + 1) != 0)
        fz_fail("out of memory");
    uint8_t *buf = pick_buffer(b >> 1, mem);
    uint32_t transferred = UINT32_MAX;
    int32_t s = iocph_file_try_read(h.value, buf, length, offset, &transferred);
    fz_check_status("iocph_file_try_read", s);
    free(mem);
    if (s == IOCPH_OK) {
        CHECK(h.index >= 0 && fz_handles[h.index].life == FZ_LIVE && buf && length > 0 &&
                  length <= IOCPH_MAX_IO_LENGTH && offset <= (uint64_t)INT64_MAX,
              "iocph_file_try_read returned IOCPH_OK for arguments the header refuses");
        CHECK(transferred <= length, "iocph_file_try_read transferred %u of %u", transferred,
              length);
    }
}

/* ---- pipes ---- */

static void op_pipe_create(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint8_t b = u8(in);
    uint64_t key = b >> 1;
    iocph_handle_t r = 0, w = 0;
    int32_t s = iocph_pipe_create(p.value, key, &r, (b & 1) ? NULL : &w);
    fz_check_status("iocph_pipe_create", s);
    if (s != IOCPH_OK)
        return;
    CHECK(port_live(p.index) && !fz_ports[p.index].stopping && !(b & 1),
          "iocph_pipe_create returned IOCPH_OK (port %d)", p.index);
    fz_handle_add(r, FZ_H_PIPE_READ, p.index, key, 0);
    fz_handle_add(w, FZ_H_PIPE_WRITE, p.index, key, 0);
}

static void op_pipe_io(fz_in *in, bool write)
{
    fz_pick h = pick_handle(in, 1u << (write ? FZ_H_PIPE_WRITE : FZ_H_PIPE_READ));
    uint32_t length = pick_length(in);
    uint8_t mode = u8(in);
    fz_rec *rec = new_io_rec(write ? FZ_OP_PIPE_WRITE : FZ_OP_PIPE_READ, h, length, write);
    if (!rec)
        return;
    uint8_t *buf = pick_buffer(mode, write ? rec->out_buf : rec->in_buf);
    bool must_refuse = length == 0 || length > IOCPH_MAX_IO_LENGTH || buf == NULL;
    iocph_op_t *op = (mode & 8) ? NULL : &rec->op;
    int32_t s = write ? iocph_pipe_write(h.value, buf, length, fz_rec_user_data(rec), op)
                      : iocph_pipe_read(h.value, buf, length, fz_rec_user_data(rec), op);
    fz_check_status(write ? "iocph_pipe_write" : "iocph_pipe_read", s);
    started(rec, h, must_refuse, s, write ? "iocph_pipe_write" : "iocph_pipe_read");
}

static void op_pipe_read(fz_in *in) { op_pipe_io(in, false); }
static void op_pipe_write(fz_in *in) { op_pipe_io(in, true); }

/* ---- sockets ---- */

static void op_tcp_listen(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint32_t flags;
    bool must_refuse = false;
    iocph_endpoint local = pick_local(in, &flags, &must_refuse);
    uint8_t b = u8(in);
    int32_t backlog = (b & 0x80) ? -1 : (int32_t)(b & 7);
    uint64_t key = u8(in);
    must_refuse |= flags_refused(&local, flags);
    iocph_handle_t listener = 0;
    int32_t s = iocph_tcp_listen(p.value, (b & 0x40) ? NULL : &local, backlog, flags, key, &listener);
    fz_check_status("iocph_tcp_listen", s);
    if (s != IOCPH_OK)
        return;
    CHECK(port_live(p.index) && !fz_ports[p.index].stopping && !must_refuse && !(b & 0x40),
          "iocph_tcp_listen returned IOCPH_OK (port %d, family %u, flags 0x%x)", p.index,
          local.family, flags);
    fz_handle_add(listener, FZ_H_LISTENER, p.index, key, 0);
}

static void op_udp_bind(fz_in *in)
{
    fz_pick p = pick_port(in);
    uint32_t flags;
    bool must_refuse = false;
    iocph_endpoint local = pick_local(in, &flags, &must_refuse);
    uint64_t key = u8(in);
    must_refuse |= flags_refused(&local, flags);
    iocph_handle_t sock = 0;
    int32_t s = iocph_udp_bind(p.value, &local, flags, key, &sock);
    fz_check_status("iocph_udp_bind", s);
    if (s != IOCPH_OK)
        return;
    CHECK(port_live(p.index) && !fz_ports[p.index].stopping && !must_refuse,
          "iocph_udp_bind returned IOCPH_OK (port %d, family %u, flags 0x%x)", p.index,
          local.family, flags);
    fz_handle_add(sock, FZ_H_UDP, p.index, key, 0);
}

static void op_tcp_connect(fz_in *in)
{
    fz_pick p = pick_port(in);
    bool must_refuse = false;
    iocph_endpoint remote = pick_remote(in, 1u << FZ_H_LISTENER, &must_refuse);
    uint8_t b = u8(in);
    uint32_t local_flags;
    bool local_refused = false;
    iocph_endpoint local = pick_local(in, &local_flags, &local_refused);
    uint64_t key = u8(in);
    uint32_t timeout = pick_timeout(in);
    if ((b & 3) == 1)
        must_refuse |= local_refused || local.family != remote.family;
    fz_rec *rec = fz_rec_new(FZ_OP_CONNECT, p.index >= 0 ? p.index : 0, -1, key, 0, 0);
    if (!rec)
        return;
    iocph_handle_t sock = 0x1234;
    int32_t s = iocph_tcp_connect(p.value, (b & 4) && (b & 3) == 2 ? NULL : &remote,
                                  (b & 3) == 1 ? &local : NULL, key, timeout,
                                  fz_rec_user_data(rec), &sock, (b & 8) ? NULL : &rec->op);
    fz_check_status("iocph_tcp_connect", s);
    if (s != IOCPH_OK) {
        CHECK(sock == 0, "iocph_tcp_connect failed (%d) and left *socket = 0x%llx", (int)s,
              (unsigned long long)sock);
        fz_rec_started(rec, s);
        return;
    }
    CHECK(port_live(p.index) && !fz_ports[p.index].stopping && !must_refuse &&
              !((b & 4) && (b & 3) == 2),
          "iocph_tcp_connect returned IOCPH_OK (port %d, remote family %u port %u, local %s "
          "family %u)", p.index, remote.family, remote.port, (b & 3) == 1 ? "given" : "NULL",
          local.family);
    int index = fz_handle_add(sock, FZ_H_TCP, p.index, key, 0);
    fz_lock();
    rec->handle = index;
    fz_unlock();
    fz_rec_started(rec, s);
}

/* iocph_tcp_try_accept: a connection waiting in the backlog, or WOULD_BLOCK; no completion. */
static void try_accept(fz_pick h, uint64_t key, bool null_result)
{
    iocph_accept_result r;
    memset(&r, 0, sizeof r);
    int32_t s = iocph_tcp_try_accept(h.value, key, null_result ? NULL : &r);
    fz_check_status("iocph_tcp_try_accept", s);
    if (s != IOCPH_OK)
        return;
    CHECK(h.index >= 0 && fz_handles[h.index].life == FZ_LIVE && !null_result,
          "iocph_tcp_try_accept returned IOCPH_OK for a handle or result the header refuses");
    CHECK(r.remote.family == 0 || r.remote.family == IOCPH_AF_INET ||
              r.remote.family == IOCPH_AF_INET6,
          "iocph_tcp_try_accept gave remote family %u", r.remote.family);
    fz_handle_add(r.socket, FZ_H_TCP, port_of(h), key, 0);
}

static void op_tcp_accept(fz_in *in)
{
    fz_pick h = pick_handle(in, 1u << FZ_H_LISTENER);
    uint64_t key = u8(in);
    uint32_t timeout = pick_timeout(in);
    uint8_t b = u8(in);
    if (b & 4) {
        try_accept(h, key, (b & 1) != 0);
        return;
    }
    fz_rec *rec = fz_rec_new(FZ_OP_ACCEPT, port_of(h), h.index,
                             h.index >= 0 ? fz_handles[h.index].key : 0, 0, 0);
    if (!rec)
        return;
    rec->accept_key = key;
    int32_t s = iocph_tcp_accept(h.value, key, (b & 1) ? NULL : rec->accept, timeout,
                                 fz_rec_user_data(rec), (b & 2) ? NULL : &rec->op);
    fz_check_status("iocph_tcp_accept", s);
    started(rec, h, (b & 1) != 0, s, "iocph_tcp_accept");
}

/* Socket sends and receives, plain or gather/scatter. */
static void op_socket_io(fz_in *in, bool send)
{
    fz_pick h = pick_handle(in, 1u << FZ_H_TCP);
    uint8_t b = u8(in);
    uint32_t timeout = pick_timeout(in);
    bool vector = (b & 1) != 0;
    bool must_refuse = false;
    uint32_t length;
    iocph_buffer *buffers = NULL;
    uint32_t count = 0;
    if (vector) {
        count = u8(in) % 18u; /* 0 and 17 are refused */
        must_refuse = count == 0 || count > IOCPH_MAX_BUFFERS;
        buffers = calloc(count ? count : 1, sizeof *buffers);
        uint64_t total = 0;
        for (uint32_t i = 0; i < count; i++) {
            uint8_t e = u8(in);
            buffers[i].length = (e & 0xC0) == 0xC0 ? 0 : (e & 0x3Fu) * 97u;
            buffers[i].reserved = (e & 0xC0) == 0x80 && (e & 1) ? 1 : 0;
            must_refuse |= buffers[i].reserved != 0;
            total += buffers[i].length;
        }
        must_refuse |= total == 0;
        length = (uint32_t)total;
    } else {
        length = pick_length(in);
        /* A zero-length receive waits for data (its buffer is ignored); a zero-length send is refused. */
        must_refuse = (send && length == 0) || length > IOCPH_MAX_IO_LENGTH;
    }
    fz_rec *rec = new_io_rec(send ? FZ_OP_SEND : FZ_OP_RECEIVE, h, length, send);
    if (!rec) {
        free(buffers);
        return;
    }
    uint8_t *base = send ? rec->out_buf : rec->in_buf;
    uint8_t *buf = pick_buffer(b >> 1, base);
    iocph_op_t *op = (b & 0x40) ? NULL : &rec->op;
    int32_t s;
    if (vector) {
        size_t at = 0;
        for (uint32_t i = 0; i < count; i++) {
            buffers[i].data = base + at;
            at += buffers[i].length;
        }
        if (buf == NULL && count > 0 && buffers[0].length > 0) {
            buffers[0].data = NULL;
            must_refuse = true;
        }
        s = send ? iocph_socket_send_gather(h.value, (b & 0x80) ? NULL : buffers, count, timeout,
                                            fz_rec_user_data(rec), op)
                 : iocph_socket_receive_scatter(h.value, (b & 0x80) ? NULL : buffers, count,
                                                timeout, fz_rec_user_data(rec), op);
        must_refuse |= (b & 0x80) != 0;
        /* The array is copied at the call: freed now, AddressSanitizer sees a later read. */
        free(buffers);
    } else {
        must_refuse |= buf == NULL && (send || length != 0);
        s = send ? iocph_socket_send(h.value, buf, length, timeout, fz_rec_user_data(rec), op)
                 : iocph_socket_receive(h.value, buf, length, timeout, fz_rec_user_data(rec), op);
    }
    fz_check_status(send ? "socket send" : "socket receive", s);
    started(rec, h, must_refuse, s, send ? "socket send" : "socket receive");
}

static void op_socket_send(fz_in *in) { op_socket_io(in, true); }
static void op_socket_receive(fz_in *in) { op_socket_io(in, false); }

/* try_send / try_receive, only where the header allows them (no asynchronous operation of the
 * same direction in flight), shutdown_send, endpoints and options. */
static void op_socket_sync(fz_in *in)
{
    fz_pick h = pick_handle(in, (1u << FZ_H_TCP) | (1u << FZ_H_UDP) | (1u << FZ_H_LISTENER));
    uint8_t b = u8(in);
    bool live = h.index >= 0 && fz_handles[h.index].life == FZ_LIVE;
    int32_t s;
    switch (b & 7) {
    case 0:
    case 1: {
        bool send = (b & 7) == 0;
        uint32_t length = pick_length(in);
        if (live) {
            fz_lock();
            bool busy = send ? fz_handles[h.index].sends > 0 : fz_handles[h.index].receives > 0;
            fz_unlock();
            if (busy)
                return;
        }
        size_t real = real_length(length);
        uint8_t *mem = calloc(1, real + 1);
        uint8_t *buf = pick_buffer(b >> 3, mem);
        uint32_t done = UINT32_MAX;
        s = send ? iocph_socket_try_send(h.value, buf, length, &done)
                 : iocph_socket_try_receive(h.value, buf, length, &done);
        free(mem);
        fz_check_status(send ? "iocph_socket_try_send" : "iocph_socket_try_receive", s);
        if (s == IOCPH_OK) {
            CHECK(live && buf && length > 0 && length <= IOCPH_MAX_IO_LENGTH,
                  "%s returned IOCPH_OK for arguments the header refuses",
                  send ? "try_send" : "try_receive");
            CHECK(send ? done >= 1 && done <= length : done <= length,
                  "%s moved %u of %u bytes", send ? "try_send" : "try_receive", done, length);
        }
        return;
    }
    case 2:
        s = iocph_socket_shutdown_send(h.value);
        break;
    case 3: {
        iocph_endpoint e;
        s = iocph_socket_get_endpoint(h.value, (int32_t)(b >> 3) % 3, (b & 0x80) ? NULL : &e);
        fz_check_status("iocph_socket_get_endpoint", s);
        if (s == IOCPH_OK)
            CHECK(e.family == IOCPH_AF_INET || e.family == IOCPH_AF_INET6,
                  "iocph_socket_get_endpoint gave family %u", e.family);
        break;
    }
    default: {
        int32_t option = (int32_t)(b >> 3) % 8;
        uint8_t v = u8(in);
        int32_t value = (v & 3) == 0 ? (int32_t)u32(in) : (int32_t)(v >> 2) - 1;
        if ((b & 7) == 4) {
            s = iocph_socket_set_option(h.value, option, value);
        } else {
            int32_t got = 0;
            s = iocph_socket_get_option(h.value, option, (v & 0x80) ? NULL : &got);
        }
        break;
    }
    }
    fz_check_status("a synchronous socket call", s);
    if (!live)
        CHECK(s != IOCPH_OK, "a synchronous socket call on a closed/stale/forged handle returned "
                             "IOCPH_OK");
}

static void op_udp_send_to(fz_in *in)
{
    fz_pick h = pick_handle(in, 1u << FZ_H_UDP);
    uint32_t length = pick_length(in);
    bool must_refuse = length == 0 || length > IOCPH_MAX_IO_LENGTH;
    iocph_endpoint remote = pick_remote(in, (1u << FZ_H_UDP) | (1u << FZ_H_LISTENER), &must_refuse);
    uint32_t timeout = pick_timeout(in);
    uint8_t b = u8(in);
    fz_rec *rec = new_io_rec(FZ_OP_UDP_SEND, h, length, true);
    if (!rec)
        return;
    uint8_t *buf = pick_buffer(b, rec->out_buf);
    must_refuse |= buf == NULL || (b & 0x80) != 0;
    /* `remote` is copied at the call: a heap copy freed right after it. */
    iocph_endpoint *copy = malloc(sizeof *copy);
    *copy = remote;
    int32_t s = iocph_udp_send_to(h.value, buf, length, (b & 0x80) ? NULL : copy, timeout,
                                  fz_rec_user_data(rec), (b & 8) ? NULL : &rec->op);
    free(copy);
    fz_check_status("iocph_udp_send_to", s);
    started(rec, h, must_refuse, s, "iocph_udp_send_to");
}

static void op_udp_receive_from(fz_in *in)
{
    fz_pick h = pick_handle(in, 1u << FZ_H_UDP);
    uint32_t length = pick_length(in);
    uint32_t timeout = pick_timeout(in);
    uint8_t b = u8(in);
    fz_rec *rec = new_io_rec(FZ_OP_UDP_RECEIVE, h, length, false);
    if (!rec)
        return;
    if (!(b & 0x10)) {
        rec->remote = malloc(sizeof *rec->remote);
        memset(rec->remote, FZ_CANARY, sizeof *rec->remote);
    }
    uint8_t *buf = pick_buffer(b, rec->in_buf);
    bool must_refuse = length == 0 || length > IOCPH_MAX_IO_LENGTH || buf == NULL;
    int32_t s = iocph_udp_receive_from(h.value, buf, length, rec->remote, timeout,
                                       fz_rec_user_data(rec), (b & 8) ? NULL : &rec->op);
    fz_check_status("iocph_udp_receive_from", s);
    started(rec, h, must_refuse, s, "iocph_udp_receive_from");
}

/* ---- time passing ---- */

/* Lets operations finish by themselves: every pull port is dequeued, then a short sleep. */
static void op_wait(fz_in *in)
{
    uint8_t b = u8(in);
    for (int i = 0; i < fz_port_count; i++) {
        if (port_live(i) && !fz_ports[i].push) {
            while (dequeue_some(i, fz_ports[i].value, 64, 0) == IOCPH_OK) {
            }
        }
    }
    struct timespec ts = {0, (long)(b & 7) * 500000L};
    nanosleep(&ts, NULL);
}

typedef void (*fz_op)(fz_in *in);

static const fz_op op_table[] = {
    op_port_create,  op_dequeue,       op_port_shutdown, op_port_destroy,  op_post,
    op_stats_and_queries, op_hold,     op_cancel,        op_close,         op_file_open,
    op_file_read,    op_file_write,    op_file_flush,    op_file_sync,     op_pipe_create,
    op_pipe_read,    op_pipe_write,    op_tcp_listen,    op_udp_bind,      op_tcp_connect,
    op_tcp_accept,   op_socket_send,   op_socket_receive, op_socket_sync,  op_udp_send_to,
    op_udp_receive_from, op_wait,
};
#define OP_COUNT (sizeof op_table / sizeof op_table[0])

/* ---- one input ---- */

static int baseline_fds, baseline_threads;

/* f0 exists at the start of every input with 16 KiB of known bytes (reads find data). */
static void seed_files(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/f0", fz_scratch_dir());
    FILE *f = fopen(path, "wb");
    if (!f)
        fz_fail("cannot create %s", path);
    for (int i = 0; i < 16384; i++)
        fputc(i * 7 & 0xFF, f);
    fclose(f);
}

/* Waits (up to 2 s) for a count to come back to its baseline: a joined thread may take a moment
 * to leave /proc/self/task. */
static int settle(int (*count)(void), int baseline)
{
    int n = count();
    for (int i = 0; i < 2000 && n > baseline; i++) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
        n = count();
    }
    return n;
}

static void finish_input(void)
{
    while (hold_depth > 0) {
        iocph_thread_release_wakeups();
        hold_depth--;
    }
    for (int i = 0; i < fz_port_count; i++) {
        if (port_live(i))
            destroy_port(i, true);
    }
    /* Every value of this input is stale now. */
    for (int i = 0; i < fz_handle_count; i++) {
        int32_t s = iocph_handle_close(fz_handles[i].value);
        CHECK(s == IOCPH_E_BADHANDLE, "handle %d (0x%llx) after its port's destroy: close "
                                      "returned %d", i, (unsigned long long)fz_handles[i].value,
              (int)s);
    }
    for (int i = 0; i < fz_port_count; i++) {
        int32_t s = iocph_port_post(fz_ports[i].value, 0, 0, 0);
        CHECK(s == IOCPH_E_BADHANDLE, "a destroyed port accepted a post (%d)", (int)s);
    }
    fz_ledger_end();
    fz_scratch_clear();
    int fds = settle(fz_count_fds, baseline_fds);
    if (fds != baseline_fds)
        fz_print_fds();
    CHECK(fds == baseline_fds, "%d descriptors open after the input, %d before", fds, baseline_fds);
    int threads = settle(fz_count_threads, baseline_threads);
    CHECK(threads == baseline_threads, "%d threads after the input, %d before", threads,
          baseline_threads);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *trace = getenv("IOCPH_FUZZ_TRACE");
    fz_trace = trace && *trace == '1';
    /* The first port pays the process-wide probes (io_uring's answer is remembered); the
     * descriptor and thread baselines are taken after it. */
    iocph_port_options o;
    iocph_port_t port;
    if (iocph_port_options_init(&o) != IOCPH_OK || iocph_port_create(&o, &port) != IOCPH_OK ||
        iocph_port_destroy(port) != IOCPH_OK)
        fz_fail("cannot create a port at all");
    int32_t backend = 0;
    if (iocph_port_create(&o, &port) == IOCPH_OK) {
        iocph_port_get_backend(port, &backend);
        iocph_port_destroy(port);
    }
    fprintf(stderr, "fuzz_api: backend %s, scratch directory %s\n", iocph_backend_name(backend),
            fz_scratch_dir());
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {data, size, 0};
    /* The baselines, taken anew for each input: between inputs libFuzzer itself may start a
     * thread (its RSS watcher) or open pipes (the symbolizer behind its NEW_FUNC lines). */
    baseline_fds = fz_count_fds();
    baseline_threads = fz_count_threads();
    fz_ledger_begin();
    seed_files();
    op_port_create(&in);
    for (int n = 0; n < MAX_INSTRUCTIONS && in.i < in.n; n++) {
        unsigned op = u8(&in) % OP_COUNT;
        if (fz_trace)
            fprintf(stderr, "op %u at byte %zu (%d ports, %d handles)\n", op, in.i - 1,
                    fz_port_count, fz_handle_count);
        op_table[op](&in);
    }
    finish_input();
    return 0;
}
