/* Internal state the library exports for tests only (not in the public header, so not in the
 * C# binding). Defined in native/src/common/. */
#ifndef IOCPH_TEST_HOOKS_H
#define IOCPH_TEST_HOOKS_H

#include "iocphybrid.h"

/* op_pool.c: *made, the socket blocks the port has made (each socket op but a wait for data
 * without a timeout borrows one while it is live); *idle, those no op holds now. */
IOCPH_API int32_t iocph__test_socket_blocks(iocph_port_t port, uint64_t *made, uint64_t *idle);

#endif
