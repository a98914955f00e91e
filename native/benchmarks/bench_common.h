/*
 * bench_common.h - shared bits of the C benchmark programs: clocks, CPU time, a tiny option
 * parser and the one-line JSON result the harness (managed/benchmarks/IocpHybrid.Benchmarks.Harness)
 * reads. Linux only: the programs compare against pread and O_DIRECT.
 */
#ifndef IOCPH_BENCH_COMMON_H
#define IOCPH_BENCH_COMMON_H

#define _GNU_SOURCE
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User + system CPU time of the whole process (every thread), in seconds. */
static inline double bench_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Soft limit of open files up to the hard one: 512 connections (and their server) need more
 * descriptors than the usual soft 1024 leaves once both ends share a machine. */
static inline void bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Push mode: the port's callback does the work and counts it in *done. Waits until `limit`
 * operations are done (0: until the clock reaches `end`), tells the callback to stop, and returns
 * the count. */
static inline uint64_t bench_wait_push(atomic_uint_fast64_t *done, atomic_int *stop, uint64_t limit,
                                       double end)
{
    struct timespec ms = {0, 1000000};
    while (limit ? atomic_load(done) < limit : bench_now() < end)
        nanosleep(&ms, NULL);
    atomic_store(stop, 1);
    return atomic_load(done);
}

/* "--name value" lookup; returns the value or the default. */
static inline const char *bench_arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return def;
}

static inline int bench_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

/* xorshift64*: cheap random block numbers. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* The result line: {"ops":..,"seconds":..,"ops_per_sec":..,"ns_per_op":..,"cpu_ns_per_op":..} */
static inline void bench_report(uint64_t ops, double seconds, double cpu_seconds)
{
    double o = ops ? (double)ops : 1.0;
    printf("{\"ops\":%" PRIu64 ",\"seconds\":%.6f,\"ops_per_sec\":%.1f,\"ns_per_op\":%.2f,"
           "\"cpu_ns_per_op\":%.2f}\n",
           ops, seconds, (double)ops / seconds, seconds * 1e9 / o, cpu_seconds * 1e9 / o);
    fflush(stdout);
}

#endif
