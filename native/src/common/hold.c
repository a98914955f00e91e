/* Held wake-ups (iocph_thread_hold_wakeups / iocph_thread_release_wakeups): per thread, a depth
 * and the short list of (port, worker) pairs to wake at the outermost release. The port is kept
 * as its public value and re-acquired at the release, so a port destroyed in between is simply
 * skipped. A full list stops deferring (the caller wakes at once), so nothing is ever lost.
 * iocph_thread_hold_wakeups_and_reap marks the pairs its hold adds as reapers: the backend counts
 * them as such and delivers at their release (uring_direct_reap.c). */
#include "api_shared.h"

#include <string.h>

#define HELD_MAX 32

typedef struct held_wake {
    iocph_port_t port;
    uint32_t worker;
    bool pending; /* a wake-up was actually held back: owed at the release */
    bool reaper;  /* added under a reaping hold: the release may deliver here */
} held_wake;

static _Thread_local uint32_t hold_depth;
static _Thread_local bool hold_reaps;
static _Thread_local uint32_t held_count;
static _Thread_local held_wake held[HELD_MAX];

bool *iocph__wake_hold(iocph__port *port, uint32_t worker, bool *first, bool *reaper)
{
    *first = false;
    *reaper = false;
    if (hold_depth == 0)
        return NULL;
    for (uint32_t i = 0; i < held_count; i++)
        if (held[i].port == port->value && held[i].worker == worker)
            return &held[i].pending;
    if (held_count == HELD_MAX)
        return NULL;
    held[held_count].port = port->value;
    held[held_count].worker = worker;
    held[held_count].pending = false;
    held[held_count].reaper = hold_reaps;
    *first = true;
    *reaper = hold_reaps;
    return &held[held_count++].pending;
}

void iocph_thread_hold_wakeups(void) { hold_depth++; }

void iocph_thread_hold_wakeups_and_reap(void)
{
    hold_depth++;
    hold_reaps = true;
}

void iocph_thread_release_wakeups(void)
{
    if (hold_depth == 0 || --hold_depth > 0)
        return;
    /* Taken out first: a reaper's release runs callbacks, which may hold and release again. */
    held_wake releasing[HELD_MAX];
    uint32_t count = held_count;
    memcpy(releasing, held, count * sizeof *held);
    held_count = 0;
    hold_reaps = false;
    for (uint32_t i = 0; i < count; i++) {
        iocph__port *port = iocph__port_acquire(releasing[i].port);
        if (port) {
            if (port->backend->worker_release)
                port->backend->worker_release(port, releasing[i].worker, releasing[i].pending,
                                              releasing[i].reaper);
            iocph__port_release(port);
        }
    }
}
