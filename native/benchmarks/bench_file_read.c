/*
 * bench_file_read - 4 KiB (--bs) random reads from one file, closed loop at a fixed queue depth.
 *
 *   bench_file_read --engine iocph-pull|iocph-push|pread --file PATH [--depth N] [--bs BYTES]
 *                   [--seconds S | --ops N] [--direct] [--seed N]
 *
 * iocph-pull: one port (1 ring), this thread keeps --depth reads in flight with iocph_port_dequeue.
 * iocph-push: one worker; its callback starts the next read for every completion (no other thread).
 * pread:      plain pread(2) on this thread: the synchronous floor (depth is always 1).
 * --direct opens with O_DIRECT (IOCPH_FILE_UNBUFFERED). --ops runs a fixed count (for callgrind).
 * Prints one JSON line (bench_common.h).
 */
#include "bench_common.h"
#include "iocphybrid.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

static uint64_t g_blocks, g_seed = 88172645463325252ULL, g_limit;
static uint32_t g_bs;
static iocph_handle_t g_file;
static uint8_t *g_buffers;
static atomic_uint_fast64_t g_done;
static atomic_int g_stop;

static uint64_t next_offset(void) { return (bench_rand(&g_seed) % g_blocks) * g_bs; }

static int32_t start_read(uint64_t slot)
{
    return iocph_file_read(g_file, g_buffers + slot * g_bs, g_bs, next_offset(), slot, NULL);
}

static void on_completions(void *ctx, const iocph_completion *e, uint32_t n)
{
    (void)ctx;
    for (uint32_t i = 0; i < n; i++) {
        if (e[i].result != (int64_t)g_bs) {
            /* After the stop, closing the file cancels what is still in flight (on epoll, reads
             * still queued for its file threads always): not a failure of the run. */
            if (e[i].result == IOCPH_E_CANCELED && atomic_load(&g_stop))
                continue;
            fprintf(stderr, "read failed: %s\n", iocph_status_message((int32_t)e[i].result));
            exit(1);
        }
        uint64_t done = atomic_fetch_add_explicit(&g_done, 1, memory_order_relaxed) + 1;
        if (atomic_load_explicit(&g_stop, memory_order_relaxed) || (g_limit && done >= g_limit))
            continue; /* let the slot drain */
        int32_t rc = start_read(e[i].user_data);
        if (rc != 0 && !atomic_load(&g_stop)) { /* after the stop, shutdown may refuse it */
            fprintf(stderr, "iocph_file_read: %s\n", iocph_status_message(rc));
            exit(1);
        }
    }
}

static int die(const char *what, int32_t rc)
{
    fprintf(stderr, "bench_file_read: %s: %s (%d)\n", what, iocph_status_message(rc), (int)rc);
    return 1;
}

int main(int argc, char **argv)
{
    const char *engine = bench_arg(argc, argv, "--engine", "iocph-pull");
    const char *path = bench_arg(argc, argv, "--file", NULL);
    uint32_t depth = (uint32_t)atoi(bench_arg(argc, argv, "--depth", "1"));
    double seconds = atof(bench_arg(argc, argv, "--seconds", "2"));
    g_limit = strtoull(bench_arg(argc, argv, "--ops", "0"), NULL, 10);
    g_bs = (uint32_t)atoi(bench_arg(argc, argv, "--bs", "4096"));
    g_seed ^= strtoull(bench_arg(argc, argv, "--seed", "1"), NULL, 10);
    int direct = bench_flag(argc, argv, "--direct");
    if (!path || depth == 0 || g_bs == 0) {
        fprintf(stderr, "usage: bench_file_read --engine iocph-pull|iocph-push|pread --file PATH "
                        "[--depth N] [--bs B] [--seconds S | --ops N] [--direct]\n");
        return 2;
    }
    if (strcmp(engine, "pread") == 0)
        depth = 1;
    if (posix_memalign((void **)&g_buffers, 4096, (size_t)depth * g_bs) != 0)
        return 1;
    memset(g_buffers, 0, (size_t)depth * g_bs);

    if (strcmp(engine, "pread") == 0) {
        int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
        if (fd < 0) {
            perror(path);
            return 1;
        }
        g_blocks = (uint64_t)lseek(fd, 0, SEEK_END) / g_bs;
        double t0 = bench_now(), c0 = bench_cpu(), end = t0 + seconds, t = t0;
        uint64_t ops = 0;
        for (;;) {
            if (pread(fd, g_buffers, g_bs, (off_t)next_offset()) != (ssize_t)g_bs) {
                perror("pread");
                return 1;
            }
            ops++;
            if (g_limit ? ops >= g_limit : ((ops & 63) == 0 && (t = bench_now()) >= end))
                break;
        }
        t = bench_now();
        bench_report(ops, t - t0, bench_cpu() - c0);
        close(fd);
        return 0;
    }

    int push = strcmp(engine, "iocph-push") == 0;
    if (!push && strcmp(engine, "iocph-pull") != 0)
        return die("unknown engine", IOCPH_E_INVALID_ARGUMENT);
    iocph_port_options o;
    iocph_port_options_init(&o);
    o.worker_threads = 1;
    o.queue_depth = depth < 256 ? 256 : depth;
    if (push)
        o.callback = on_completions;
    iocph_port_t port;
    int32_t rc = iocph_port_create(&o, &port);
    if (rc)
        return die("iocph_port_create", rc);
    rc = iocph_file_open(port, path, IOCPH_FILE_READ | (direct ? IOCPH_FILE_UNBUFFERED : 0), 1, &g_file);
    if (rc)
        return die(path, rc);
    uint64_t length;
    iocph_file_get_length(g_file, &length);
    g_blocks = length / g_bs;

    double t0 = bench_now(), c0 = bench_cpu(), end = t0 + seconds;
    for (uint32_t i = 0; i < depth; i++)
        if ((rc = start_read(i)) != 0)
            return die("iocph_file_read", rc);
    uint64_t ops = 0;
    if (push) {
        ops = bench_wait_push(&g_done, &g_stop, g_limit, end);
    } else {
        iocph_completion done[64];
        uint32_t inflight = depth;
        int stopping = 0;
        while (inflight) {
            uint32_t n = 0;
            rc = iocph_port_dequeue(port, done, 64, 10000, &n);
            if (rc)
                return die("iocph_port_dequeue", rc);
            for (uint32_t i = 0; i < n; i++) {
                if (done[i].result != (int64_t)g_bs)
                    return die("read", (int32_t)done[i].result);
                ops++;
                inflight--;
                if (!stopping && (g_limit ? ops + inflight >= g_limit : ((ops & 63) == 0 && bench_now() >= end)))
                    stopping = 1;
                if (!stopping) {
                    if ((rc = start_read(done[i].user_data)) != 0)
                        return die("iocph_file_read", rc);
                    inflight++;
                }
            }
        }
    }
    double t = bench_now(), c = bench_cpu();
    bench_report(ops, t - t0, c - c0);
    iocph_handle_close(g_file);
    iocph_port_shutdown(port, 10000);
    iocph_port_destroy(port);
    return 0;
}
