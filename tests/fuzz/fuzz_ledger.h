/*
 * fuzz_ledger.h - what the API harness (fuzz_api.c) knows about one fuzz input: the ports it
 * made, the handles it holds, and every operation it started, with the checks each completion
 * must pass (the header's contracts: exactly once per accepted start, never for a refused one, the
 * right key, a result within range, and no write into a buffer after its completion).
 *
 * One lock covers all of it: the port's worker threads deliver completions (push mode) while the
 * fuzzing thread starts operations. A broken contract prints what broke and calls abort(), which
 * libFuzzer reports as a crash and saves the input.
 */
#ifndef IOCPH_FUZZ_LEDGER_H
#define IOCPH_FUZZ_LEDGER_H

#include "iocphybrid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_MAX_PORTS 4
#define FZ_MAX_HANDLES 64
#define FZ_MAX_RECS 2048
#define FZ_CANARY 0xA5

/* The operations the harness starts; each has its own result rule. */
typedef enum fz_kind {
    FZ_OP_POST = 1,
    FZ_OP_FILE_READ,
    FZ_OP_FILE_WRITE,
    FZ_OP_FILE_FLUSH,
    FZ_OP_PIPE_READ,
    FZ_OP_PIPE_WRITE,
    FZ_OP_ACCEPT,
    FZ_OP_CONNECT,
    FZ_OP_SEND,
    FZ_OP_RECEIVE,
    FZ_OP_UDP_SEND,
    FZ_OP_UDP_RECEIVE
} fz_kind;

typedef enum fz_rec_state {
    FZ_REC_PENDING = 1, /* started (or being started): one completion is owed */
    FZ_REC_DONE,        /* its completion arrived */
    FZ_REC_REFUSED,     /* the start returned an error: no completion may ever come */
    FZ_REC_DISCARDED    /* pull port destroyed before it was dequeued: nothing may come */
} fz_rec_state;

/* What a posted packet asks the callback to do when it arrives (the value's low bits). */
enum {
    FZ_POST_REPOST = 1,      /* post another packet from inside the callback */
    FZ_POST_WRONGTHREAD = 2  /* shutdown/destroy from the callback: IOCPH_E_WRONGTHREAD */
};

typedef struct fz_rec {
    fz_kind kind;
    fz_rec_state state;
    int port;             /* index in fz_ports */
    int handle;           /* index in fz_handles, -1 for posts and failed connects */
    uint64_t key;         /* the key the completion must carry */
    int64_t value;        /* a post's value */
    uint32_t length;      /* the largest byte count the completion may report */
    uint8_t *in_buf;      /* memory the library writes into: FZ_CANARY from its completion on */
    size_t in_len;
    uint8_t *out_buf;     /* memory the library reads: freed at the completion (ASan sees reads) */
    iocph_accept_result *accept;
    uint64_t accept_key;  /* the key an accepted socket gets */
    iocph_endpoint *remote; /* a UDP receive's sender */
    iocph_op_t op;
    int64_t result;
    bool send_direction;  /* counted in the handle's sends (else receives) */
    bool cancel_asked;    /* a cancel, close, shutdown or destroy may have reached it: only then
                             may it complete with IOCPH_E_CANCELED */
} fz_rec;

typedef enum fz_handle_kind {
    FZ_H_FILE = 1,
    FZ_H_PIPE_READ,
    FZ_H_PIPE_WRITE,
    FZ_H_LISTENER,
    FZ_H_TCP,
    FZ_H_UDP,
    FZ_H_KINDS
} fz_handle_kind;

typedef enum fz_life { FZ_LIVE = 1, FZ_CLOSED, FZ_STALE } fz_life;

typedef struct fz_handle {
    uint64_t value;
    fz_handle_kind kind;
    fz_life life;
    int port;
    uint64_t key;
    uint32_t file_flags;
    uint32_t sends;    /* asynchronous sends in flight (the try_* rule) */
    uint32_t receives; /* asynchronous receives in flight */
} fz_handle;

typedef struct fz_port {
    iocph_port_t value;
    fz_life life;      /* FZ_STALE once destroyed */
    bool push;
    bool shut;         /* a shutdown completed */
    bool stopping;     /* a shutdown began (returned IOCPH_OK or IOCPH_E_TIMEOUT): starts and
                          posts are refused */
    uint64_t started;  /* accepted starts (posts included) */
    uint64_t delivered;
    uint64_t untracked; /* handles made while the handle table was full (closed by destroy) */
} fz_port;

extern fz_port fz_ports[FZ_MAX_PORTS];
extern int fz_port_count;
extern fz_handle fz_handles[FZ_MAX_HANDLES];
extern int fz_handle_count;
extern fz_rec fz_recs[FZ_MAX_RECS];
extern int fz_rec_count;

/* IOCPH_FUZZ_TRACE=1: every instruction, start and completion on stderr (to read what an input
 * does). */
extern bool fz_trace;

/* Prints the broken rule and aborts. */
_Noreturn void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void fz_lock(void);
void fz_unlock(void);

/* Starts a new input: every table empty, a new run number in every user_data. */
void fz_ledger_begin(void);
/* After every port was destroyed: checks each buffer the library wrote into still holds the
 * canary set at its completion, and frees everything. */
void fz_ledger_end(void);

/* A new record, PENDING before the call that starts it (its completion may come before that call
 * returns). NULL when the table is full. in_len bytes of in_buf / out_len of out_buf are
 * allocated (filled with FZ_CANARY / a pattern). */
fz_rec *fz_rec_new(fz_kind kind, int port, int handle, uint64_t key, size_t in_len,
                   size_t out_len);
uint64_t fz_rec_user_data(const fz_rec *rec);
/* The start returned `status`: an error makes the record REFUSED (aborts if a completion had
 * already come for it); IOCPH_OK counts it on its port. */
void fz_rec_started(fz_rec *rec, int32_t status);

/* Checks and records delivered completions of port `port`: a callback batch (in_callback: the
 * packets' actions run, shutdown and destroy must answer IOCPH_E_WRONGTHREAD) or a dequeue. */
void fz_deliver(int port, const iocph_completion *entries, uint32_t count, bool in_callback);

/* Before a cancel-like call: the pending operations it may reach may now complete with
 * IOCPH_E_CANCELED. By op value (iocph_op_cancel), by handle (cancel_all, close) or by port
 * (shutdown, destroy); -1 / 0 for "any". */
void fz_mark_cancel(uint64_t op, int handle, int port);

/* Completions still owed on a port. */
int fz_pending(int port);
/* Waits (push mode) until no completion is owed on the port or timeout_ms passed. */
int fz_wait_pending(int port, uint32_t timeout_ms);
/* A pull port was destroyed with completions not dequeued: they are lost, and nothing may write
 * their buffers any more (canaried now, checked at the end). */
void fz_discard_pending(int port);

/* Adds a handle (takes the lock). -1 when the table is full: the handle then only counts in its
 * port's `untracked`. */
int fz_handle_add(uint64_t value, fz_handle_kind kind, int port, uint64_t key, uint32_t flags);
/* The live handle with this value, or -1. */
int fz_handle_find_live(uint64_t value);

/* A status every function may return: IOCPH_OK or one of the IOCPH_E_* codes. */
void fz_check_status(const char *call, int32_t status);

#endif
