/* Shutdown with 10,000 operations in flight: pending pipe reads and TCP receives (which would
 * wait forever), file reads and writes and posts all complete exactly once, through the callback,
 * before shutdown returns; statistics end at zero in flight. Then the same in pull mode, where
 * shutdown waits for the caller's threads to dequeue. */
#include "test_util.h"

#define PIPES 64
#define PIPE_READS 64 /* per pipe */
#define PAIRS 32      /* TCP connections; receives wait on both ends */
#define SOCK_RECVS 32 /* per socket */
#define FILE_OPS 256
#define PIPE_OPS (PIPES * PIPE_READS)
#define SOCK_OPS (PAIRS * 2 * SOCK_RECVS)
#define POSTS (10000 - PIPE_OPS - SOCK_OPS - FILE_OPS)
#define FILE_BASE (PIPE_OPS + SOCK_OPS)
#define TOTAL 10000
#define SETUP_BASE 1000000 /* the accepts and connects that make the pairs */
#define BUF 512

static _Atomic uint32_t seen[TOTAL];
static _Atomic uint64_t completions;
static _Atomic uint64_t setup_done;
static _Atomic uint64_t bad;

static void count(const iocph_completion *c)
{
    if (c->user_data >= SETUP_BASE && c->user_data < SETUP_BASE + 2 * PAIRS) {
        if (c->result != 0)
            atomic_fetch_add(&bad, 1);
        atomic_fetch_add(&setup_done, 1);
        return;
    }
    if (c->user_data >= TOTAL) {
        atomic_fetch_add(&bad, 1);
        return;
    }
    atomic_fetch_add(&seen[c->user_data], 1);
    if (c->user_data < FILE_BASE && c->result != IOCPH_E_CANCELED)
        atomic_fetch_add(&bad, 1);
    if (c->user_data >= FILE_BASE && c->user_data < FILE_BASE + FILE_OPS && c->result != BUF &&
        c->result != IOCPH_E_CANCELED && c->result != 0)
        atomic_fetch_add(&bad, 1);
    atomic_fetch_add(&completions, 1);
}

static void on_batch(void *context, const iocph_completion *entries, uint32_t n)
{
    (void)context;
    for (uint32_t i = 0; i < n; i++)
        count(&entries[i]);
}

static iocph_port_t pull_port;
static _Atomic int stop_dequeuers;

static void dequeuer(void *arg)
{
    (void)arg;
    iocph_completion c[16];
    while (!atomic_load(&stop_dequeuers)) {
        uint32_t n = 0;
        int32_t rc = iocph_port_dequeue(pull_port, c, 16, 20, &n);
        if (rc == IOCPH_E_SHUTDOWN)
            break;
        if (rc == IOCPH_OK)
            for (uint32_t i = 0; i < n; i++)
                count(&c[i]);
    }
}

typedef struct handles {
    iocph_handle_t f, rs[PIPES], ws[PIPES], client[PAIRS], server[PAIRS];
    iocph_accept_result accepted[PAIRS];
} handles;

/* PAIRS connected TCP pairs through one listener; the completions of the accepts and connects
 * are counted by whoever delivers them (the callback, or the dequeuers already running). */
static void make_pairs(iocph_port_t port, handles *h)
{
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, PAIRS, &bound);
    atomic_store(&setup_done, 0);
    for (uint64_t i = 0; i < PAIRS; i++) {
        CHECK_OK(iocph_tcp_accept(listener, 8, &h->accepted[i], 0, SETUP_BASE + i, NULL));
        CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 9, 0, SETUP_BASE + PAIRS + i,
                                   &h->client[i], NULL));
    }
    if (!test_wait_count(&setup_done, 2 * PAIRS, 20000))
        test_fail(__FILE__, __LINE__, "%llu of %d accepts and connects completed",
                  (unsigned long long)atomic_load(&setup_done), 2 * PAIRS);
    for (int i = 0; i < PAIRS; i++) {
        h->server[i] = h->accepted[i].socket;
        CHECK(h->server[i] != 0);
    }
    CHECK_OK(iocph_handle_close(listener));
}

static void start_everything(iocph_port_t port, const char *path, handles *h, uint8_t (*bufs)[BUF])
{
    CHECK_OK(iocph_file_open(port, path,
                             IOCPH_FILE_READ | IOCPH_FILE_WRITE | IOCPH_FILE_CREATE, 1, &h->f));
    make_pairs(port, h);
    uint64_t id = 0;
    for (int p = 0; p < PIPES; p++) {
        CHECK_OK(iocph_pipe_create(port, 2, &h->rs[p], &h->ws[p]));
        for (int k = 0; k < PIPE_READS; k++, id++)
            CHECK_OK(iocph_pipe_read(h->rs[p], bufs[id], BUF, id, NULL));
    }
    for (int p = 0; p < PAIRS; p++)
        for (int k = 0; k < SOCK_RECVS; k++) {
            CHECK_OK(iocph_socket_receive(h->client[p], bufs[id], BUF, 0, id, NULL));
            id++;
            CHECK_OK(iocph_socket_receive(h->server[p], bufs[id], BUF, 0, id, NULL));
            id++;
        }
    CHECK_EQ(id, FILE_BASE);
    for (; id < FILE_BASE + FILE_OPS; id++) {
        if (id % 2)
            CHECK_OK(iocph_file_write(h->f, bufs[id], BUF, id * BUF, id, NULL));
        else
            CHECK_OK(iocph_file_read(h->f, bufs[id], BUF, id * BUF, id, NULL));
    }
    for (; id < TOTAL; id++)
        CHECK_OK(iocph_port_post(port, 3, id, 1));
}

static void close_everything(handles *h)
{
    CHECK_OK(iocph_handle_close(h->f));
    for (int i = 0; i < PIPES; i++) {
        CHECK_OK(iocph_handle_close(h->rs[i]));
        CHECK_OK(iocph_handle_close(h->ws[i]));
    }
    for (int i = 0; i < PAIRS; i++) {
        CHECK_OK(iocph_handle_close(h->client[i]));
        CHECK_OK(iocph_handle_close(h->server[i]));
    }
}

static void check_exactly_once(void)
{
    CHECK_EQ(atomic_load(&bad), 0);
    CHECK_EQ(atomic_load(&completions), TOTAL);
    for (uint32_t i = 0; i < TOTAL; i++)
        if (atomic_load(&seen[i]) != 1)
            test_fail(__FILE__, __LINE__, "op %u completed %u times", i, atomic_load(&seen[i]));
}

static void reset(void)
{
    for (uint32_t i = 0; i < TOTAL; i++)
        atomic_store(&seen[i], 0);
    atomic_store(&completions, 0);
}

int main(void)
{
    test_watchdog(90);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "shutfl");
    test_path(path, sizeof path, dir, "f.bin");
    static uint8_t bufs[TOTAL][BUF];
    static handles h;

    /* Push mode. */
    iocph_port_options o;
    CHECK_OK(iocph_port_options_init(&o));
    o.callback = on_batch;
    o.worker_threads = 2;
    iocph_port_t port;
    test_create_port(&o, &port);
    start_everything(port, path, &h, bufs);
    iocph_port_stats s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    CHECK_OK(iocph_port_get_stats(port, &s));
    printf("%llu operations in flight at shutdown\n", (unsigned long long)s.ops_in_flight);
    uint64_t t0 = test_now_ms();
    CHECK_OK(iocph_port_shutdown(port, 20000));
    CHECK(test_now_ms() - t0 < 10000);
    check_exactly_once(); /* all of them, before shutdown returned */
    CHECK_OK(iocph_port_get_stats(port, &s));
    CHECK_EQ(s.ops_in_flight, 0);
    CHECK_EQ(s.ops_started, TOTAL + 2 * PAIRS);
    CHECK_EQ(s.completions_delivered, TOTAL + 2 * PAIRS);
    CHECK_EQ(s.handles_open, 1 + 2 * PIPES + 2 * PAIRS);
    test_sleep_ms(30);
    CHECK_EQ(atomic_load(&completions), TOTAL); /* and nothing after */
    close_everything(&h);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));

    /* Pull mode, two of the caller's threads dequeuing. */
    reset();
    pull_port = test_port_pull(2);
    test_thread d[2];
    test_thread_start(&d[0], dequeuer, NULL);
    test_thread_start(&d[1], dequeuer, NULL);
    start_everything(pull_port, path, &h, bufs);
    CHECK_OK(iocph_port_shutdown(pull_port, 20000));
    /* Shutdown returns once every completion was dequeued, but a dequeuer may still be counting
     * its last batch: count after they stopped (they see IOCPH_E_SHUTDOWN and return). */
    test_thread_join(&d[0]);
    test_thread_join(&d[1]);
    check_exactly_once();
    /* Handles left open are closed by destroy. */
    CHECK_OK(iocph_port_destroy(pull_port));

    test_remove_file(path);
    test_remove_dir(dir);
    printf("%d operations, each completed exactly once, in each mode\n", TOTAL);
    return 0;
}
