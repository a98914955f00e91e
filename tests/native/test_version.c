/* Versions, status messages and backend names: the static, never-NULL strings and numbers. */
#include "test_util.h"

int main(void)
{
    test_watchdog(30);
    CHECK_EQ(iocph_version(), IOCPH_VERSION);
    CHECK_EQ(IOCPH_VERSION, (IOCPH_VERSION_MAJOR << 16) | (IOCPH_VERSION_MINOR << 8) |
                                IOCPH_VERSION_PATCH);

    /* Every code has its own message; unknown codes have the fallback. */
    const char *unknown = iocph_status_message(12345);
    CHECK(unknown != NULL && strcmp(unknown, "unknown status") == 0);
    CHECK(strcmp(iocph_status_message(-1), unknown) == 0);
    CHECK(strcmp(iocph_status_message(INT32_MIN), unknown) == 0);
    const char *seen[32];
    int n = 0;
    seen[n++] = iocph_status_message(IOCPH_OK);
    for (int32_t code = IOCPH_E_UNKNOWN; code >= IOCPH_E_IS_DIRECTORY; code--) {
        const char *m = iocph_status_message(code);
        CHECK(m != NULL && *m != '\0');
        CHECK(strcmp(m, unknown) != 0);
        for (int i = 0; i < n; i++)
            CHECK(strcmp(seen[i], m) != 0);
        seen[n++] = m;
    }
    /* Codes lie outside errno and Win32 ranges. */
    CHECK(IOCPH_E_UNKNOWN < -16384);

    CHECK(strcmp(iocph_backend_name(IOCPH_BACKEND_DEFAULT), "default") == 0);
    CHECK(strcmp(iocph_backend_name(IOCPH_BACKEND_IOCP), "iocp") == 0);
    CHECK(strcmp(iocph_backend_name(IOCPH_BACKEND_IO_URING), "io_uring") == 0);
    CHECK(strcmp(iocph_backend_name(99), "unknown") == 0);
    CHECK(strcmp(iocph_backend_name(-1), "unknown") == 0);

    /* The completion layout is part of the ABI. */
    CHECK_EQ(sizeof(iocph_completion), 32);
    printf("version %u.%u.%u ok\n", (unsigned)(iocph_version() >> 16),
           (unsigned)((iocph_version() >> 8) & 0xFF), (unsigned)(iocph_version() & 0xFF));
    return 0;
}
