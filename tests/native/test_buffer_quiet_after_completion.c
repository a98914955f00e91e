/* Once an operation's completion is delivered, nothing writes into its buffer any more: not the
 * OS (a cancelled read must not land after its cancel completion), not the backend. Managed code
 * unpins the buffer when the completion arrives, so a late write there would corrupt the GC heap.
 * File reads are started, some cancelled one by one, some by closing the handle, the rest by
 * shutting the port down (cached file reads mostly finish first, under Wine always); pipe reads,
 * which really wait, are cancelled and then sent data. The callback snapshots each buffer when
 * its completion arrives; after everything is over every buffer must still equal its snapshot.
 * A read that succeeded holds the file's bytes up to its count and the fill pattern after it. */
#include "test_util.h"

#define OPS 96
#define LEN (64 * 1024)
#define FILE_SIZE (4u * 1024 * 1024)
#define FILL 0xCD

static uint8_t *buffers[OPS];
static uint8_t *snapshots[OPS];
static int64_t results[OPS];
static _Atomic uint32_t delivered[OPS];
static _Atomic uint64_t completions;
static _Atomic uint64_t bad;
static uint8_t *file_data;

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t id = entries[i].user_data;
        if (id >= OPS || atomic_fetch_add(&delivered[id], 1) != 0) {
            atomic_fetch_add(&bad, 1);
            continue;
        }
        results[id] = entries[i].result;
        memcpy(snapshots[id], buffers[id], LEN);
    }
    atomic_fetch_add(&completions, count);
}

static uint64_t offset_of(uint32_t i) { return ((uint64_t)i * 40961u) % (FILE_SIZE - LEN / 2); }

/* how: 0 = cancel every other op, then shut down; 1 = close the handle; 2 = shut down only. */
static void round_trip(const char *path, int how)
{
    memset((void *)delivered, 0, sizeof delivered);
    atomic_store(&completions, 0);
    for (uint32_t i = 0; i < OPS; i++)
        memset(buffers[i], FILL, LEN);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 2;
    iocph_port_t port;
    test_create_port(&o, &port);
    iocph_handle_t file;
    CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, 1, &file));
    iocph_op_t ops[OPS];
    for (uint32_t i = 0; i < OPS; i++)
        CHECK_OK(iocph_file_read(file, buffers[i], LEN, offset_of(i), i, &ops[i]));
    if (how == 0) {
        for (uint32_t i = 0; i < OPS; i += 2) {
            int32_t rc = iocph_op_cancel(file, ops[i]);
            CHECK(rc == IOCPH_OK || rc == IOCPH_E_NOTPENDING);
        }
    } else if (how == 1) {
        CHECK_OK(iocph_handle_close(file));
        file = 0;
    }
    CHECK_OK(iocph_port_destroy(port)); /* shuts down: everything completes first */
    CHECK_EQ(atomic_load(&completions), OPS);
    test_sleep_ms(100); /* room for a late write to land */
    for (uint32_t i = 0; i < OPS; i++) {
        CHECK_EQ(atomic_load(&delivered[i]), 1);
        if (memcmp(buffers[i], snapshots[i], LEN) != 0)
            test_fail(__FILE__, __LINE__, "round %d: op %u's buffer changed after its completion "
                      "(result %lld)", how, i, (long long)results[i]);
        if (results[i] >= 0) {
            CHECK(results[i] <= LEN);
            CHECK(memcmp(buffers[i], file_data + offset_of(i), (size_t)results[i]) == 0);
            for (int64_t j = results[i]; j < LEN; j++)
                CHECK_EQ(buffers[i][j], FILL);
        } else {
            CHECK_STATUS((int32_t)results[i], IOCPH_E_CANCELED);
        }
    }
    CHECK_EQ(atomic_load(&bad), 0);
    uint32_t canceled = 0;
    for (uint32_t i = 0; i < OPS; i++)
        canceled += results[i] < 0;
    printf("round %d: %u of %u reads cancelled, the others complete\n", how, canceled, OPS);
}

/* Pipe reads really wait: cancel half of them while they wait, then send data. The cancelled
 * ones must stay untouched (the OS must not fill a buffer whose cancel it already reported);
 * the others receive the data; shutdown ends whatever is still waiting. */
static void pipe_round(void)
{
    enum { PIPE_OPS = 32, PIPE_LEN = 4096 };
    memset((void *)delivered, 0, sizeof delivered);
    atomic_store(&completions, 0);
    for (uint32_t i = 0; i < PIPE_OPS; i++)
        memset(buffers[i], FILL, LEN);
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 2;
    iocph_port_t port;
    test_create_port(&o, &port);
    iocph_handle_t r, w;
    CHECK_OK(iocph_pipe_create(port, 1, &r, &w));
    iocph_op_t ops[PIPE_OPS];
    for (uint32_t i = 0; i < PIPE_OPS; i++)
        CHECK_OK(iocph_pipe_read(r, buffers[i], PIPE_LEN, i, &ops[i]));
    test_sleep_ms(20);
    CHECK_EQ(atomic_load(&completions), 0);
    for (uint32_t i = 0; i < PIPE_OPS; i += 2)
        CHECK_OK(iocph_op_cancel(r, ops[i]));
    CHECK(test_wait_count(&completions, PIPE_OPS / 2, 5000));
    /* Enough data for every read, cancelled ones included: none may land in those. */
    static uint8_t data[PIPE_OPS * PIPE_LEN];
    memset(data, 0x5A, sizeof data);
    CHECK_OK(iocph_pipe_write(w, data, sizeof data, PIPE_OPS, NULL));
    test_sleep_ms(100);
    CHECK_OK(iocph_port_destroy(port)); /* ends the write and any read still waiting */
    test_sleep_ms(100);
    uint32_t canceled = 0;
    for (uint32_t i = 0; i < PIPE_OPS; i++) {
        CHECK_EQ(atomic_load(&delivered[i]), 1);
        if (memcmp(buffers[i], snapshots[i], PIPE_LEN) != 0)
            test_fail(__FILE__, __LINE__, "pipe read %u's buffer changed after its completion "
                      "(result %lld)", i, (long long)results[i]);
        if (results[i] < 0) {
            CHECK_STATUS((int32_t)results[i], IOCPH_E_CANCELED);
            canceled++;
            for (uint32_t j = 0; j < PIPE_LEN; j++)
                CHECK_EQ(buffers[i][j], FILL);
        }
    }
    CHECK(canceled >= PIPE_OPS / 2);
    CHECK_EQ(atomic_load(&bad), 0);
    printf("pipe: %u of %u waiting reads cancelled, untouched\n", canceled, (unsigned)PIPE_OPS);
}

int main(void)
{
    test_watchdog(120);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "quiet");
    test_path(path, sizeof path, dir, "data.bin");
    file_data = malloc(FILE_SIZE);
    CHECK(file_data != NULL);
    for (uint32_t i = 0; i < FILE_SIZE; i++)
        file_data[i] = (uint8_t)((i * 2654435761u) >> 24) | 1u; /* never the fill byte's twin 0 */
    test_write_file(path, file_data, FILE_SIZE);
    for (uint32_t i = 0; i < OPS; i++) {
        buffers[i] = malloc(LEN);
        snapshots[i] = malloc(LEN);
        CHECK(buffers[i] && snapshots[i]);
    }
    for (int round = 0; round < 3; round++)
        for (int how = 0; how < 3; how++)
            round_trip(path, how);
    for (int round = 0; round < 3; round++)
        pipe_round();
    for (uint32_t i = 0; i < OPS; i++) {
        free(buffers[i]);
        free(snapshots[i]);
    }
    free(file_data);
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
