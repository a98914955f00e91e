/* Push mode: completions arrive in batches (callback_batches < completions under load), no
 * batch exceeds max_batch, no more than `concurrency` callbacks run at once, and statistics add
 * up: completions_delivered == ops_started, ops_in_flight back to 0. */
#include "test_util.h"

#define POSTERS 2
#define PER_POSTER 50000
#define MAX_BATCH 16u

static _Atomic uint64_t completions;
static _Atomic uint64_t batches;
static _Atomic uint64_t multi; /* batches with more than one entry */
static _Atomic uint64_t bad;
static _Atomic int running;
static _Atomic int max_running;
static iocph_port_t port;

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    if (context != (void *)&completions || count == 0 || count > MAX_BATCH)
        atomic_fetch_add(&bad, 1);
    int now = atomic_fetch_add(&running, 1) + 1;
    int prev = atomic_load(&max_running);
    while (now > prev && !atomic_compare_exchange_weak(&max_running, &prev, now)) {
    }
    for (uint32_t i = 0; i < count; i++)
        if (entries[i].flags != IOCPH_COMPLETION_POSTED || entries[i].key != 11 ||
            entries[i].result != (int64_t)entries[i].user_data * 2)
            atomic_fetch_add(&bad, 1);
    if (count > 1)
        atomic_fetch_add(&multi, 1);
    atomic_fetch_add(&batches, 1);
    atomic_fetch_add(&completions, count);
    atomic_fetch_sub(&running, 1);
}

static void poster(void *arg)
{
    uint64_t base = (uint64_t)(uintptr_t)arg * PER_POSTER;
    for (uint64_t i = base; i < base + PER_POSTER; i++) {
        int32_t rc;
        while ((rc = iocph_port_post(port, 11, i, (int64_t)i * 2)) == IOCPH_E_NOMEM)
            test_sleep_ms(1);
        if (rc != IOCPH_OK)
            atomic_fetch_add(&bad, 1);
    }
}

int main(void)
{
    test_watchdog(90);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.callback_context = &completions;
    o.worker_threads = 3;
    o.concurrency = 1;
    o.max_batch = MAX_BATCH;
    test_create_port(&o, &port);

    test_thread t[POSTERS];
    for (int i = 0; i < POSTERS; i++)
        test_thread_start(&t[i], poster, (void *)(uintptr_t)i);
    for (int i = 0; i < POSTERS; i++)
        test_thread_join(&t[i]);
    CHECK(test_wait_count(&completions, POSTERS * PER_POSTER, 30000));

    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    printf("%llu completions in %llu batches (%llu with several), %llu os waits, max %d callbacks "
           "at once\n",
           (unsigned long long)s.completions_delivered, (unsigned long long)s.callback_batches,
           (unsigned long long)atomic_load(&multi), (unsigned long long)s.os_waits,
           atomic_load(&max_running));
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(s.completions_delivered, POSTERS * PER_POSTER);
    CHECK_EQ(s.ops_started, POSTERS * PER_POSTER);
    CHECK_EQ(s.callback_batches, atomic_load(&batches));
    CHECK(s.callback_batches < s.completions_delivered); /* batching happened */
    CHECK(atomic_load(&multi) > 0);
    CHECK_EQ(atomic_load(&max_running), 1); /* concurrency = 1 */
    CHECK_EQ(s.worker_threads, 3);
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
