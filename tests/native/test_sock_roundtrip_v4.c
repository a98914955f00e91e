/* TCP round trips of 1 byte .. 1 MiB over IPv4 loopback (see sock_roundtrip.h). */
#include "sock_roundtrip.h"

int main(void) { return roundtrip_main(IOCPH_AF_INET); }
