/* Pull mode (GetQueuedCompletionStatusEx): 4 of the caller's threads dequeue 100,000 posted
 * packets while 2 threads post them; each packet is seen exactly once, with its key and value. */
#include "test_util.h"

#define PACKETS 100000u
#define POSTERS 2u
#define DEQUEUERS 4u

static iocph_port_t port;
static _Atomic uint32_t seen[PACKETS];
static _Atomic uint64_t received;
static _Atomic uint64_t bad;

static void poster(void *arg)
{
    uint32_t first = (uint32_t)(uintptr_t)arg;
    for (uint32_t i = first; i < PACKETS; i += POSTERS) {
        int32_t rc;
        /* Posting never blocks; NOMEM would only mean the op pool hit IOCPH_MAX_OPS. */
        while ((rc = iocph_port_post(port, 7000 + i % 3, i, -(int64_t)i * 3)) == IOCPH_E_NOMEM)
            test_sleep_ms(1);
        if (rc != IOCPH_OK)
            atomic_fetch_add(&bad, 1);
    }
}

static void dequeuer(void *arg)
{
    (void)arg;
    iocph_completion batch[37]; /* odd size on purpose */
    while (atomic_load(&received) < PACKETS) {
        uint32_t n = 0;
        int32_t rc = iocph_port_dequeue(port, batch, 37, 50, &n);
        if (rc == IOCPH_E_TIMEOUT) {
            if (n != 0)
                atomic_fetch_add(&bad, 1);
            continue;
        }
        if (rc != IOCPH_OK || n == 0 || n > 37) {
            atomic_fetch_add(&bad, 1);
            return;
        }
        for (uint32_t i = 0; i < n; i++) {
            const iocph_completion *c = &batch[i];
            if (c->user_data >= PACKETS || c->flags != IOCPH_COMPLETION_POSTED ||
                c->key != 7000 + c->user_data % 3 || c->result != -(int64_t)c->user_data * 3 ||
                c->os_error != 0) {
                atomic_fetch_add(&bad, 1);
                continue;
            }
            atomic_fetch_add(&seen[c->user_data], 1);
        }
        atomic_fetch_add(&received, n);
    }
}

int main(void)
{
    test_watchdog(100);
    port = test_port_pull(0);

    test_thread d[DEQUEUERS], p[POSTERS];
    for (uint32_t i = 0; i < DEQUEUERS; i++)
        test_thread_start(&d[i], dequeuer, NULL);
    for (uint32_t i = 0; i < POSTERS; i++)
        test_thread_start(&p[i], poster, (void *)(uintptr_t)i);
    for (uint32_t i = 0; i < POSTERS; i++)
        test_thread_join(&p[i]);
    for (uint32_t i = 0; i < DEQUEUERS; i++)
        test_thread_join(&d[i]);

    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&received), PACKETS);
    for (uint32_t i = 0; i < PACKETS; i++)
        if (atomic_load(&seen[i]) != 1)
            test_fail(__FILE__, __LINE__, "packet %u seen %u times", i, atomic_load(&seen[i]));

    /* Nothing more arrives. */
    test_expect_nothing(port, 20);

    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_EQ(s.ops_started, PACKETS);
    CHECK_EQ(s.completions_delivered, PACKETS);
    CHECK(s.callback_batches >= 1 && s.callback_batches <= PACKETS);
    CHECK_EQ(s.handles_open, 0);
    printf("100000 packets, %llu dequeues, %llu os waits\n", (unsigned long long)s.callback_batches,
           (unsigned long long)s.os_waits);

    CHECK_OK(iocph_port_shutdown(port, 10000));
    /* Shut down and drained: dequeue says so instead of waiting. */
    iocph_completion c;
    uint32_t n = 5;
    CHECK_STATUS(iocph_port_dequeue(port, &c, 1, 1000, &n), IOCPH_E_SHUTDOWN);
    CHECK_EQ(n, 0);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
