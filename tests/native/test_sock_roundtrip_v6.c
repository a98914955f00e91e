/* TCP round trips of 1 byte .. 1 MiB over IPv6 loopback (see sock_roundtrip.h); skipped (77)
 * only where ::1 can't be bound. */
#include "sock_roundtrip.h"

int main(void) { return roundtrip_main(IOCPH_AF_INET6); }
