/* A push port created with worker_threads = 0 has a worker per processor the process may run on:
 * a server started under `taskset -c 0` (or with its affinity set on Windows) gets one worker,
 * not one per processor of the machine taking turns on its one core. */
#ifndef _WIN32
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#endif
#include "test_util.h"

#ifdef _WIN32
typedef DWORD_PTR cpu_mask;

static cpu_mask allowed_mask(void)
{
    DWORD_PTR process, system;
    CHECK(GetProcessAffinityMask(GetCurrentProcess(), &process, &system));
    return process;
}

static void set_mask(cpu_mask mask) { CHECK(SetProcessAffinityMask(GetCurrentProcess(), mask)); }

static uint32_t mask_count(cpu_mask mask)
{
    uint32_t n = 0;
    for (; mask; mask &= mask - 1)
        n++;
    return n;
}

static cpu_mask first_cpu_only(cpu_mask mask) { return mask & (~mask + 1); }
#else
#include <sched.h>
typedef cpu_set_t cpu_mask;

static cpu_mask allowed_mask(void)
{
    cpu_set_t set;
    CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
    return set;
}

/* The calling thread's mask: the port's workers are created by this thread and inherit it. */
static void set_mask(cpu_mask mask) { CHECK(sched_setaffinity(0, sizeof mask, &mask) == 0); }

static uint32_t mask_count(cpu_mask mask) { return (uint32_t)CPU_COUNT(&mask); }

static cpu_mask first_cpu_only(cpu_mask mask)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &mask)) {
            CPU_SET(cpu, &one);
            break;
        }
    }
    return one;
}
#endif

static _Atomic uint64_t delivered;

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++)
        CHECK_EQ(entries[i].key, 7);
    atomic_fetch_add(&delivered, count);
}

/* A default push port: its worker count, and that it delivers a post. */
static uint32_t default_workers(void)
{
    iocph_port_options o;
    iocph_port_options_init(&o);
    o.callback = on_batch;
    iocph_port_t port;
    CHECK_OK(iocph_port_create(&o, &port));
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    uint64_t before = atomic_load(&delivered);
    CHECK_OK(iocph_port_post(port, 7, 1, 2));
    CHECK(test_wait_count(&delivered, before + 1, 10000));
    CHECK_OK(iocph_port_destroy(port));
    return s.worker_threads;
}

int main(void)
{
    test_watchdog(60);
    cpu_mask allowed = allowed_mask();
    uint32_t cpus = mask_count(allowed);
    CHECK(cpus >= 1);
    CHECK_EQ(default_workers(), cpus);

    if (cpus < 2) {
        printf("one processor allowed: default workers 1; the restricted case needs 2\n");
        return 0;
    }
    set_mask(first_cpu_only(allowed));
    CHECK_EQ(mask_count(allowed_mask()), 1);
    uint32_t restricted = default_workers();
    set_mask(allowed);
    CHECK_EQ(restricted, 1);
    CHECK_EQ(default_workers(), cpus);
    printf("default workers: %u with %u processors allowed, 1 with one\n", (unsigned)cpus,
           (unsigned)cpus);
    return 0;
}
