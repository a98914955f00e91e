/* Held wake-ups (iocph_thread_hold_wakeups / iocph_thread_release_wakeups): per thread, a depth
 * and the short list of (port, worker) pairs to wake at the outermost release. The port is kept
 * as its public value and re-acquired at the release, so a port destroyed in between is simply
 * skipped. A full list stops deferring (the caller wakes at once), so nothing is ever lost. */
#include "api_shared.h"

#define HELD_MAX 32

typedef struct held_wake {
    iocph_port_t port;
    uint32_t worker;
    bool pending; /* a wake-up was actually held back: owed at the release */
} held_wake;

static _Thread_local uint32_t hold_depth;
static _Thread_local uint32_t held_count;
static _Thread_local held_wake held[HELD_MAX];

bool *iocph__wake_hold(iocph__port *port, uint32_t worker, bool *first)
{
    *first = false;
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
    *first = true;
    return &held[held_count++].pending;
}

void iocph_thread_hold_wakeups(void) { hold_depth++; }

void iocph_thread_release_wakeups(void)
{
    if (hold_depth == 0 || --hold_depth > 0)
        return;
    for (uint32_t i = 0; i < held_count; i++) {
        iocph__port *port = iocph__port_acquire(held[i].port);
        if (port) {
            if (port->backend->worker_release)
                port->backend->worker_release(port, held[i].worker, held[i].pending);
            iocph__port_release(port);
        }
    }
    held_count = 0;
}
