/* Held wake-ups (iocph_thread_hold_wakeups / iocph_thread_release_wakeups): operations started
 * while a thread holds its wake-ups all complete after the release; holds nest; an operation
 * started under a hold that is never released still completes (a ring may only be left asleep
 * with a timeout: no hang); a release after the port was destroyed is harmless; the calls are
 * no-ops without a hold and on IOCP. */
#include "test_util.h"

#define BURST 200

static void drain(iocph_port_t port, uint32_t count, uint64_t first_user_data)
{
    uint8_t seen[BURST] = {0};
    for (uint32_t i = 0; i < count; i++) {
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK(c.user_data >= first_user_data && c.user_data < first_user_data + count);
        CHECK_EQ(seen[c.user_data - first_user_data], 0);
        seen[c.user_data - first_user_data] = 1;
        CHECK_EQ(c.result, (int64_t)c.user_data * 3);
    }
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);

    /* A release without a hold does nothing. */
    iocph_thread_release_wakeups();

    /* A burst under a hold: every post completes once, after the release. */
    iocph_thread_hold_wakeups();
    for (uint64_t i = 0; i < BURST; i++)
        CHECK_OK(iocph_port_post(port, 1, 1000 + i, (int64_t)(1000 + i) * 3));
    iocph_thread_release_wakeups();
    drain(port, BURST, 1000);

    /* Nested: the inner release does not end the hold, the outer one does. */
    iocph_thread_hold_wakeups();
    iocph_thread_hold_wakeups();
    for (uint64_t i = 0; i < 50; i++)
        CHECK_OK(iocph_port_post(port, 1, 2000 + i, (int64_t)(2000 + i) * 3));
    iocph_thread_release_wakeups();
    for (uint64_t i = 50; i < 100; i++)
        CHECK_OK(iocph_port_post(port, 1, 2000 + i, (int64_t)(2000 + i) * 3));
    iocph_thread_release_wakeups();
    drain(port, 100, 2000);

    /* Never released while we wait (sync-over-async under a hold): still delivered, each within
     * the dequeue's timeout. The first post of a hold wakes the sleeping ring, which then sleeps
     * with a timeout while we hold; the second finds it so and leaves it asleep (the wake-up is
     * owed to the release): only the timeout brings it in. */
    for (int round = 0; round < 20; round++) {
        iocph_thread_hold_wakeups();
        CHECK_OK(iocph_port_post(port, 1, 3000, 3000 * 3));
        CHECK_EQ(test_dequeue_one(port, 5000).user_data, 3000);
        test_sleep_ms(1); /* let the ring go back to sleep */
        CHECK_OK(iocph_port_post(port, 1, 3001, 3001 * 3));
        CHECK_EQ(test_dequeue_one(port, 5000).user_data, 3001);
        iocph_thread_release_wakeups();
    }
    test_check_stats_idle_at(port, __FILE__, __LINE__);

    /* A hold whose port is destroyed before the release: the release skips it. */
    iocph_port_t doomed = test_port_pull(1);
    iocph_thread_hold_wakeups();
    CHECK_OK(iocph_port_post(doomed, 1, 4000, 4000 * 3));
    CHECK_OK(iocph_port_destroy(doomed)); /* pull mode: the undequeued post is discarded */
    iocph_thread_release_wakeups();

    CHECK_OK(iocph_port_shutdown(port, 10000));
    CHECK_OK(iocph_port_destroy(port));
    printf("test_hold_wakeups: ok\n");
    return 0;
}
