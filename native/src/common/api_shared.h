/* Helpers shared by the public-function files (api_port.c, api_handle.c). */
#ifndef IOCPH_API_SHARED_H
#define IOCPH_API_SHARED_H

#include "internal.h"

/* A reference on a live port, or NULL (stale, forged, destroyed). */
iocph__port *iocph__port_acquire(iocph_port_t value);
void iocph__port_release(iocph__port *port);

/* Counts one operation in flight if the port still runs: IOCPH_OK or IOCPH_E_SHUTDOWN.
 * Incrementing before checking the state is what lets shutdown's drain see every operation
 * that got past the check. */
int32_t iocph__port_enter(iocph__port *port);
/* Undoes iocph__port_enter for an operation that never reached the OS. */
void iocph__port_leave(iocph__port *port);

#endif
