/* The library's version as text inside the binary, for tools and people that look at a file rather
 * than call iocph_version(): `strings libiocphybrid.so | grep IocpHybrid` prints "@(#) IocpHybrid
 * 0.1.0" (the what(1) form). Made from the header's IOCPH_VERSION_* macros, the project's one
 * version; on Windows the DLL's VERSIONINFO resource (native/src/win/iocphybrid.rc) carries it too. */
#include "iocphybrid.h"

#define IOCPH__STR2(x) #x
#define IOCPH__STR(x) IOCPH__STR2(x)

#if defined(__GNUC__)
__attribute__((used))
#endif
const char iocph__version_ident[] = "@(#) IocpHybrid " IOCPH__STR(IOCPH_VERSION_MAJOR) "." IOCPH__STR(
    IOCPH_VERSION_MINOR) "." IOCPH__STR(IOCPH_VERSION_PATCH);
