/* Unbuffered reads and writes started while the thread holds its wake-ups (what a batch of
 * thread-pool continuations does; on io_uring they go into the ring's direct ring, in chunks,
 * the rest at the release): every one completes once with the right bytes after the release;
 * one held back by a hold that is never released in time still completes (no hang); a cancel
 * or a handle close with such ops in flight, and a port shutdown with ops still held back, each
 * end every op exactly once; several threads submitting under holds at once lose nothing.
 * Skipped where the temp file system can't do unbuffered I/O. */
#include "test_util.h"

#define A IOCPH_UNBUFFERED_ALIGNMENT
#define BLOCKS 64u

/* Every user_data in [first, first + count) exactly once; returns how many were cancelled. */
static uint32_t drain_once(iocph_port_t port, uint64_t first, uint32_t count, int64_t ok_result)
{
    uint8_t seen[BLOCKS] = {0};
    uint32_t cancelled = 0;
    for (uint32_t i = 0; i < count; i++) {
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK(c.user_data >= first && c.user_data < first + count);
        CHECK_EQ(seen[c.user_data - first], 0);
        seen[c.user_data - first] = 1;
        if (c.result == IOCPH_E_CANCELED) {
            cancelled++;
        } else {
            CHECK_EQ(c.result, ok_result);
        }
    }
    test_expect_nothing(port, 20);
    return cancelled;
}

/* One of the submitters of the concurrent round: its own blocks of `back`, under its own hold. */
typedef struct submitter {
    iocph_handle_t file;
    uint8_t *back;
    uint32_t first; /* block index, user_data 700 + block */
} submitter;

#define SUBMITTERS 4u
#define PER_SUBMITTER (BLOCKS / SUBMITTERS)

static void submit_held(void *arg)
{
    submitter *s = (submitter *)arg;
    for (int pass = 0; pass < 2; pass++) { /* two holds: chunks, then a remainder at the release */
        iocph_thread_hold_wakeups();
        for (uint32_t i = pass; i < PER_SUBMITTER; i += 2) {
            uint32_t block = s->first + i;
            CHECK_OK(iocph_file_read(s->file, s->back + (size_t)block * A, A, (uint64_t)block * A,
                                     700 + block, NULL));
        }
        iocph_thread_release_wakeups();
    }
}

static _Atomic uint64_t pushed;
static _Atomic uint64_t pushed_bad;

static void on_batch(void *context, const iocph_completion *entries, uint32_t n)
{
    (void)context;
    for (uint32_t i = 0; i < n; i++) {
        if (entries[i].result != A && entries[i].result != IOCPH_E_CANCELED)
            atomic_fetch_add(&pushed_bad, 1);
        atomic_fetch_add(&pushed, 1);
    }
}

int main(void)
{
    test_watchdog(60);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "direct-held");
    test_path(path, sizeof path, dir, "held.bin");
    iocph_port_t port = test_port_pull(1);
    iocph_handle_t f = test_open_unbuffered_or_skip(port, path, dir, 7);

    uint8_t *raw, *back_raw;
    uint8_t *buf = test_alloc_unbuffered(&raw, BLOCKS * A);
    uint8_t *back = test_alloc_unbuffered(&back_raw, BLOCKS * A);
    test_fill(buf, BLOCKS * A, 5);

    /* Writes under a hold, then reads under a hold: each block once, the bytes round-trip. */
    iocph_thread_hold_wakeups();
    for (uint32_t i = 0; i < BLOCKS; i++)
        CHECK_OK(iocph_file_write(f, buf + i * A, A, (uint64_t)i * A, i, NULL));
    iocph_thread_release_wakeups();
    CHECK_EQ(drain_once(port, 0, BLOCKS, A), 0);
    memset(back, 0, BLOCKS * A);
    iocph_thread_hold_wakeups();
    for (uint32_t i = 0; i < BLOCKS; i++) /* backwards: the order of completions is free */
        CHECK_OK(iocph_file_read(f, back + (BLOCKS - 1 - i) * A, A,
                                 (uint64_t)(BLOCKS - 1 - i) * A, 100 + i, NULL));
    iocph_thread_release_wakeups();
    CHECK_EQ(drain_once(port, 100, BLOCKS, A), 0);
    CHECK(memcmp(back, buf, BLOCKS * A) == 0);

    /* Held back and not released while we wait (fewer than a chunk): the ring's timed sleep
     * still sends it. */
    for (int round = 0; round < 10; round++) {
        iocph_thread_hold_wakeups();
        CHECK_OK(iocph_file_read(f, back, A, (uint64_t)round * A, 300, NULL));
        iocph_completion c = test_dequeue_one(port, 5000);
        CHECK_EQ(c.user_data, 300);
        CHECK_EQ(c.result, A);
        CHECK(memcmp(back, buf + (size_t)round * A, A) == 0);
        iocph_thread_release_wakeups();
    }

    /* Held back behind reads already in the kernel, the hold not released while we wait: the
     * first chunk's completions wake the ring, which then sends the rest. */
    iocph_thread_hold_wakeups();
    for (uint32_t i = 0; i < 6; i++)
        CHECK_OK(iocph_file_read(f, back + i * A, A, (uint64_t)i * A, 200 + i, NULL));
    CHECK_EQ(drain_once(port, 200, 6, A), 0);
    CHECK(memcmp(back, buf, 6 * A) == 0);
    iocph_thread_release_wakeups();

    /* Several threads submitting under their holds at once (they share the direct ring and
     * enter it concurrently): every block once, the right bytes. */
    memset(back, 0, BLOCKS * A);
    submitter subs[SUBMITTERS];
    for (uint32_t t = 0; t < SUBMITTERS; t++)
        subs[t] = (submitter){f, back, t * PER_SUBMITTER};
    test_run_threads(submit_held, subs, sizeof subs[0], SUBMITTERS);
    CHECK_EQ(drain_once(port, 700, BLOCKS, A), 0);
    CHECK(memcmp(back, buf, BLOCKS * A) == 0);

    /* A cancel of ops started under the hold: each ends once, done or cancelled. */
    iocph_op_t ops[8];
    iocph_thread_hold_wakeups();
    for (uint32_t i = 0; i < 8; i++)
        CHECK_OK(iocph_file_read(f, back + i * A, A, (uint64_t)i * A, 400 + i, &ops[i]));
    for (uint32_t i = 0; i < 8; i += 2) {
        int32_t rc = iocph_op_cancel(f, ops[i]);
        CHECK(rc == IOCPH_OK || rc == IOCPH_E_NOTPENDING);
    }
    iocph_thread_release_wakeups();
    drain_once(port, 400, 8, A);

    /* The handle closed with ops of the hold in flight: each ends once, then the port is idle. */
    iocph_thread_hold_wakeups();
    for (uint32_t i = 0; i < 6; i++)
        CHECK_OK(iocph_file_read(f, back + i * A, A, (uint64_t)i * A, 500 + i, NULL));
    CHECK_OK(iocph_handle_close(f));
    iocph_thread_release_wakeups();
    drain_once(port, 500, 6, A);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));

    /* Shutdown of a push port while ops are still held back: the callback gets each of them
     * before the destroy returns; the release afterwards is harmless. */
    iocph_port_t push = test_port_push(1, on_batch);
    f = test_open_unbuffered_or_skip(push, path, dir, 7);
    iocph_thread_hold_wakeups();
    for (uint32_t i = 0; i < 3; i++)
        CHECK_OK(iocph_file_read(f, back + i * A, A, (uint64_t)i * A, 600 + i, NULL));
    CHECK_OK(iocph_port_destroy(push));
    CHECK_EQ(atomic_load(&pushed), 3);
    CHECK_EQ(atomic_load(&pushed_bad), 0);
    iocph_thread_release_wakeups();

    free(raw);
    free(back_raw);
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
