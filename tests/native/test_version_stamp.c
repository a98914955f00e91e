/* The version stamped into the library file is the header's (the project's one version): on Windows
 * the DLL's VERSIONINFO resource, read back with GetFileVersionInfoW / VerQueryValueW (fixed part and
 * the ProductVersion string); on Linux the "@(#) IocpHybrid x.y.z" text inside the loaded .so. */
#include "test_util.h"

#define STR2(x) #x
#define STR(x) STR2(x)
#define VERSION_TEXT STR(IOCPH_VERSION_MAJOR) "." STR(IOCPH_VERSION_MINOR) "." STR(IOCPH_VERSION_PATCH)

#ifdef _WIN32
typedef DWORD(WINAPI *size_fn)(LPCWSTR, LPDWORD);
typedef BOOL(WINAPI *info_fn)(LPCWSTR, DWORD, DWORD, LPVOID);
typedef BOOL(WINAPI *query_fn)(LPCVOID, LPCWSTR, LPVOID *, PUINT);

static int check_stamp(void)
{
    HMODULE lib = GetModuleHandleW(L"libiocphybrid.dll");
    CHECK(lib != NULL);
    wchar_t path[MAX_PATH];
    CHECK(GetModuleFileNameW(lib, path, MAX_PATH) > 0);
    HMODULE ver = LoadLibraryW(L"version.dll");
    CHECK(ver != NULL);
    size_fn get_size = (size_fn)(void (*)(void))GetProcAddress(ver, "GetFileVersionInfoSizeW");
    info_fn get_info = (info_fn)(void (*)(void))GetProcAddress(ver, "GetFileVersionInfoW");
    query_fn query = (query_fn)(void (*)(void))GetProcAddress(ver, "VerQueryValueW");
    CHECK(get_size && get_info && query);
    DWORD handle = 0, size = get_size(path, &handle);
    CHECK(size > 0); /* 0: the DLL has no version resource */
    void *block = malloc(size);
    CHECK(block != NULL);
    CHECK(get_info(path, 0, size, block));
    VS_FIXEDFILEINFO *fixed = NULL;
    UINT len = 0;
    CHECK(query(block, L"\\", (LPVOID *)&fixed, &len) && fixed && len >= sizeof *fixed);
    CHECK_EQ(fixed->dwSignature, 0xFEEF04BDu);
    CHECK_EQ(fixed->dwFileVersionMS, ((DWORD)IOCPH_VERSION_MAJOR << 16) | IOCPH_VERSION_MINOR);
    CHECK_EQ(fixed->dwFileVersionLS, (DWORD)IOCPH_VERSION_PATCH << 16);
    CHECK_EQ(fixed->dwProductVersionMS, fixed->dwFileVersionMS);
    CHECK_EQ(fixed->dwProductVersionLS, fixed->dwFileVersionLS);
    CHECK_EQ(fixed->dwFileVersionMS, ((iocph_version() >> 16) << 16) | ((iocph_version() >> 8) & 0xFF)); /* the loaded library */
    wchar_t *text = NULL;
    CHECK(query(block, L"\\StringFileInfo\\040904B0\\ProductVersion", (LPVOID *)&text, &len) && text);
    char narrow[64];
    CHECK(WideCharToMultiByte(CP_UTF8, 0, text, -1, narrow, sizeof narrow, NULL, NULL) > 0);
    printf("VERSIONINFO %u.%u.%u.%u, ProductVersion \"%s\"\n", (unsigned)(fixed->dwFileVersionMS >> 16),
           (unsigned)(fixed->dwFileVersionMS & 0xFFFF), (unsigned)(fixed->dwFileVersionLS >> 16),
           (unsigned)(fixed->dwFileVersionLS & 0xFFFF), narrow);
    CHECK(strcmp(narrow, VERSION_TEXT ".0") == 0);
    free(block);
    return 0;
}
#else
static int check_stamp(void)
{
    /* The .so this process loaded, found in its own mappings. */
    FILE *maps = fopen("/proc/self/maps", "r");
    CHECK(maps != NULL);
    char line[4096], path[4096] = "";
    while (fgets(line, sizeof line, maps)) {
        char *p = strchr(line, '/');
        if (p && strstr(p, "/libiocphybrid.so")) {
            p[strcspn(p, "\n")] = '\0';
            snprintf(path, sizeof path, "%s", p);
            break;
        }
    }
    fclose(maps);
    CHECK(path[0] != '\0');
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    CHECK(size > 0);
    rewind(f);
    char *bytes = malloc((size_t)size);
    CHECK(bytes != NULL);
    CHECK(fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    static const char want[] = "@(#) IocpHybrid " VERSION_TEXT;
    int found = 0;
    for (long i = 0; i + (long)sizeof want <= size && !found; i++)
        found = memcmp(bytes + i, want, sizeof want) == 0; /* with its terminating NUL */
    free(bytes);
    CHECK(found);
    printf("%s: \"%s\"\n", path, want);
    return 0;
}
#endif

int main(void)
{
    test_watchdog(30);
    CHECK_EQ(iocph_version(), IOCPH_VERSION);
    return check_stamp();
}
