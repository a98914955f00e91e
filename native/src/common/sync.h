/* Threads, locks and clocks: the few OS primitives the portable core needs, one name per concept. */
#ifndef IOCPH_SYNC_H
#define IOCPH_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <winsock2.h>
#include <windows.h>
typedef SRWLOCK iocph__mutex;
#define IOCPH__MUTEX_STATIC_INIT SRWLOCK_INIT /* a static mutex that needs no init call */
typedef CONDITION_VARIABLE iocph__cond;
typedef HANDLE iocph__thread;
#else
#include <pthread.h>
typedef pthread_mutex_t iocph__mutex;
#define IOCPH__MUTEX_STATIC_INIT PTHREAD_MUTEX_INITIALIZER
typedef pthread_cond_t iocph__cond; /* uses CLOCK_MONOTONIC */
typedef pthread_t iocph__thread;
#endif

#define IOCPH__INFINITE UINT32_MAX

void iocph__mutex_init(iocph__mutex *m);
void iocph__mutex_destroy(iocph__mutex *m);
void iocph__mutex_lock(iocph__mutex *m);
void iocph__mutex_unlock(iocph__mutex *m);
/* Takes m if it is free, without waiting: true if taken. */
bool iocph__mutex_trylock(iocph__mutex *m);

void iocph__cond_init(iocph__cond *c);
void iocph__cond_destroy(iocph__cond *c);
void iocph__cond_signal(iocph__cond *c);
void iocph__cond_broadcast(iocph__cond *c);
/* Waits at most timeout_ms (IOCPH__INFINITE: forever). Returns 0, or 1 on timeout. Spurious
 * wake-ups happen: callers loop on their predicate with a deadline from iocph__now_ms(). */
int iocph__cond_wait(iocph__cond *c, iocph__mutex *m, uint32_t timeout_ms);

/* Starts fn(arg) on a new thread. Returns 0 or IOCPH_E_NOMEM. */
int32_t iocph__thread_start(iocph__thread *t, void (*fn)(void *), void *arg);
void iocph__thread_join(iocph__thread t);

/* Monotonic milliseconds. */
uint64_t iocph__now_ms(void);
/* Remaining milliseconds until deadline (IOCPH__INFINITE stays infinite). */
uint32_t iocph__remaining_ms(uint64_t deadline_ms, uint32_t timeout_ms);

/* Online processors (at least 1). */
uint32_t iocph__cpu_count(void);

/* A tiny spin lock for very short critical sections (a few instructions). */
typedef struct iocph__spin {
    volatile long v;
} iocph__spin;
void iocph__spin_lock(iocph__spin *s);
void iocph__spin_unlock(iocph__spin *s);

/* A counting semaphore built on mutex + cond (used to cap callback concurrency). */
typedef struct iocph__sem {
    iocph__mutex m;
    iocph__cond c;
    uint32_t count;
} iocph__sem;
void iocph__sem_init(iocph__sem *s, uint32_t count);
void iocph__sem_destroy(iocph__sem *s);
void iocph__sem_wait(iocph__sem *s);
void iocph__sem_post(iocph__sem *s);

#endif
