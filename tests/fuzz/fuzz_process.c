/*
 * fuzz_process.c - descriptor and thread counts, the scratch directory (fuzz_process.h).
 */
#include "fuzz_process.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The DIR of count_entries holds one descriptor while it counts. */
int fz_count_fds(void) { return count_entries("/proc/self/fd") - 1; }

int fz_count_threads(void) { return count_entries("/proc/self/task"); }

void fz_print_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], target[PATH_MAX];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        fprintf(stderr, "  fd %s -> %s\n", e->d_name, target);
    }
    closedir(d);
}

static char scratch[PATH_MAX];

static void remove_scratch(void)
{
    fz_scratch_clear();
    rmdir(scratch);
}

const char *fz_scratch_dir(void)
{
    if (scratch[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/iocph-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch)) {
            perror("fuzz_api: mkdtemp");
            abort();
        }
        atexit(remove_scratch);
    }
    return scratch;
}

void fz_scratch_clear(void)
{
    DIR *d = opendir(fz_scratch_dir());
    if (!d)
        return;
    struct dirent *e;
    char path[PATH_MAX + 256];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
        unlink(path);
    }
    closedir(d);
}
