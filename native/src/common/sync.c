/* Threads, locks and clocks on POSIX and Win32 (see sync.h). */
#include "sync.h"
#include "iocphybrid.h"

#include <stdlib.h>

/* What a new thread runs: copied to the heap, freed by the thread once it has read it. */
typedef struct thread_start {
    void (*fn)(void *);
    void *arg;
} thread_start;

static thread_start *thread_start_new(void (*fn)(void *), void *arg)
{
    thread_start *s = malloc(sizeof *s);
    if (s) {
        s->fn = fn;
        s->arg = arg;
    }
    return s;
}

#ifdef _WIN32

void iocph__mutex_init(iocph__mutex *m) { InitializeSRWLock(m); }
void iocph__mutex_destroy(iocph__mutex *m) { (void)m; }
void iocph__mutex_lock(iocph__mutex *m) { AcquireSRWLockExclusive(m); }
bool iocph__mutex_trylock(iocph__mutex *m) { return TryAcquireSRWLockExclusive(m) != 0; }
void iocph__mutex_unlock(iocph__mutex *m) { ReleaseSRWLockExclusive(m); }

void iocph__cond_init(iocph__cond *c) { InitializeConditionVariable(c); }
void iocph__cond_destroy(iocph__cond *c) { (void)c; }
void iocph__cond_signal(iocph__cond *c) { WakeConditionVariable(c); }
void iocph__cond_broadcast(iocph__cond *c) { WakeAllConditionVariable(c); }

int iocph__cond_wait(iocph__cond *c, iocph__mutex *m, uint32_t timeout_ms)
{
    DWORD ms = timeout_ms == IOCPH__INFINITE ? INFINITE : (DWORD)timeout_ms;
    return SleepConditionVariableSRW(c, m, ms, 0) ? 0 : 1;
}

static DWORD WINAPI thread_main(LPVOID p)
{
    thread_start s = *(thread_start *)p;
    free(p);
    s.fn(s.arg);
    return 0;
}

int32_t iocph__thread_start(iocph__thread *t, void (*fn)(void *), void *arg)
{
    thread_start *s = thread_start_new(fn, arg);
    if (!s)
        return IOCPH_E_NOMEM;
    *t = CreateThread(NULL, 0, thread_main, s, 0, NULL);
    if (!*t) {
        free(s);
        return IOCPH_E_NOMEM;
    }
    return 0;
}

void iocph__thread_join(iocph__thread t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}

uint64_t iocph__now_ms(void) { return GetTickCount64(); }

/* The processors this process may run on (its affinity mask, as on Linux), or every active one
 * when the process spans processor groups (the mask then only covers one). */
uint32_t iocph__cpu_count(void)
{
    DWORD_PTR process_mask, system_mask;
    USHORT groups[4];
    USHORT group_count = sizeof groups / sizeof groups[0];
    /* Wine has no GetProcessGroupAffinity (ERROR_CALL_NOT_IMPLEMENTED): one group then, unless the
     * buffer was too short for the process's groups. */
    bool one_group = GetProcessGroupAffinity(GetCurrentProcess(), &group_count, groups)
                         ? group_count == 1
                         : GetLastError() != ERROR_INSUFFICIENT_BUFFER;
    if (one_group && GetProcessAffinityMask(GetCurrentProcess(), &process_mask, &system_mask) &&
        process_mask) {
        uint32_t n = 0;
        for (; process_mask; process_mask &= process_mask - 1)
            n++;
        return n;
    }
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n ? (uint32_t)n : 1;
}

void iocph__spin_lock(iocph__spin *s)
{
    while (InterlockedExchange(&s->v, 1) != 0)
        YieldProcessor();
}

void iocph__spin_unlock(iocph__spin *s) { InterlockedExchange(&s->v, 0); }

#else /* POSIX */

#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

void iocph__mutex_init(iocph__mutex *m) { pthread_mutex_init(m, NULL); }
void iocph__mutex_destroy(iocph__mutex *m) { pthread_mutex_destroy(m); }
void iocph__mutex_lock(iocph__mutex *m) { pthread_mutex_lock(m); }
bool iocph__mutex_trylock(iocph__mutex *m) { return pthread_mutex_trylock(m) == 0; }
void iocph__mutex_unlock(iocph__mutex *m) { pthread_mutex_unlock(m); }

void iocph__cond_init(iocph__cond *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

void iocph__cond_destroy(iocph__cond *c) { pthread_cond_destroy(c); }
void iocph__cond_signal(iocph__cond *c) { pthread_cond_signal(c); }
void iocph__cond_broadcast(iocph__cond *c) { pthread_cond_broadcast(c); }

int iocph__cond_wait(iocph__cond *c, iocph__mutex *m, uint32_t timeout_ms)
{
    if (timeout_ms == IOCPH__INFINITE)
        return pthread_cond_wait(c, m) == 0 ? 0 : 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(c, m, &ts) == 0 ? 0 : 1;
}

static void *thread_main(void *p)
{
    thread_start s = *(thread_start *)p;
    free(p);
    /* A write to a pipe fd whose reader is gone raises SIGPIPE at the writing thread (sockets
     * take MSG_NOSIGNAL, pipe fds have no such flag): the library's threads keep it blocked, so
     * the write fails with EPIPE and the process never sees the signal. It stays pending on this
     * thread, where nothing unblocks it. */
    sigset_t pipe_signal;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, NULL);
    s.fn(s.arg);
    return NULL;
}

int32_t iocph__thread_start(iocph__thread *t, void (*fn)(void *), void *arg)
{
    thread_start *s = thread_start_new(fn, arg);
    if (!s)
        return IOCPH_E_NOMEM;
    if (pthread_create(t, NULL, thread_main, s) != 0) {
        free(s);
        return IOCPH_E_NOMEM;
    }
    return 0;
}

void iocph__thread_join(iocph__thread t) { pthread_join(t, NULL); }

uint64_t iocph__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The processors this process may run on, as .NET's Environment.ProcessorCount and nproc count
 * them: a server started under `taskset -c 0` on a 2-core machine had two ring threads taking
 * turns on its one core (docs/benchmarks.md, session 6). The online count when the mask can't be
 * read. */
uint32_t iocph__cpu_count(void)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        int n = CPU_COUNT(&allowed);
        if (n > 0)
            return (uint32_t)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}

void iocph__spin_lock(iocph__spin *s)
{
    while (__atomic_exchange_n(&s->v, 1, __ATOMIC_ACQUIRE) != 0) {
        while (__atomic_load_n(&s->v, __ATOMIC_RELAXED) != 0)
            sched_yield();
    }
}

void iocph__spin_unlock(iocph__spin *s) { __atomic_store_n(&s->v, 0, __ATOMIC_RELEASE); }

#endif

uint32_t iocph__remaining_ms(uint64_t deadline_ms, uint32_t timeout_ms)
{
    if (timeout_ms == IOCPH__INFINITE)
        return IOCPH__INFINITE;
    uint64_t now = iocph__now_ms();
    return now >= deadline_ms ? 0 : (uint32_t)(deadline_ms - now);
}

void iocph__sem_init(iocph__sem *s, uint32_t count)
{
    iocph__mutex_init(&s->m);
    iocph__cond_init(&s->c);
    s->count = count;
}

void iocph__sem_destroy(iocph__sem *s)
{
    iocph__cond_destroy(&s->c);
    iocph__mutex_destroy(&s->m);
}

void iocph__sem_wait(iocph__sem *s)
{
    iocph__mutex_lock(&s->m);
    while (s->count == 0)
        iocph__cond_wait(&s->c, &s->m, IOCPH__INFINITE);
    s->count--;
    iocph__mutex_unlock(&s->m);
}

void iocph__sem_post(iocph__sem *s)
{
    iocph__mutex_lock(&s->m);
    s->count++;
    iocph__mutex_unlock(&s->m);
    iocph__cond_signal(&s->c);
}
