/*
 * copy_file - copies a file with the IocpHybrid C API alone: many reads and writes in flight
 * through one completion port, driven from this thread in pull mode.
 *
 *   copy_file SOURCE DESTINATION [CHUNK_KIB [IN_FLIGHT]]
 *
 * Each of IN_FLIGHT slots owns a buffer and cycles: read a chunk at the next offset, and when
 * the read completes write the same bytes at the same offset. Prints the backend and MiB/s.
 */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif

#include "iocphybrid.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <time.h>
#endif

static double now_seconds(void)
{
#ifdef _WIN32
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart / (double)f.QuadPart;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
#endif
}

/* One buffer cycling through chunks: read [pos, end) into the buffer, write what came back at
 * the same position, and so on until the chunk is done (short reads and writes are resumed). */
typedef struct slot {
    uint8_t *buffer;
    uint64_t pos, end; /* the part of the current chunk not copied yet */
    uint32_t filled;   /* bytes in buffer, read but not yet written */
    uint32_t written;  /* of those, how many a previous short write already wrote */
    int writing;
} slot;

static int fail(const char *what, int32_t status)
{
    fprintf(stderr, "copy_file: %s: %s (%d)\n", what, iocph_status_message(status), (int)status);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE DESTINATION [CHUNK_KIB [IN_FLIGHT]]\n", argv[0]);
        return 2;
    }
    uint32_t chunk = (argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 256u) * 1024u;
    uint32_t in_flight = argc > 4 ? (uint32_t)strtoul(argv[4], NULL, 10) : 32u;
    if (chunk == 0 || chunk > (64u << 20) || in_flight == 0 || in_flight > 4096) {
        fprintf(stderr, "copy_file: CHUNK_KIB must be 1..65536 and IN_FLIGHT 1..4096\n");
        return 2;
    }

    iocph_port_options options;
    iocph_port_options_init(&options);
    options.queue_depth = in_flight * 2;
    options.worker_threads = 1; /* pull mode: one ring / nothing extra on IOCP */
    iocph_port_t port;
    int32_t rc = iocph_port_create(&options, &port);
    if (rc < 0)
        return fail("creating the port", rc);
    int32_t backend = 0;
    iocph_port_get_backend(port, &backend);

    iocph_handle_t src, dst;
    rc = iocph_file_open(port, argv[1], IOCPH_FILE_READ, 1, &src);
    if (rc < 0)
        return fail(argv[1], rc);
    rc = iocph_file_open(port, argv[2],
                         IOCPH_FILE_WRITE | IOCPH_FILE_CREATE | IOCPH_FILE_TRUNCATE, 2, &dst);
    if (rc < 0)
        return fail(argv[2], rc);
    uint64_t size = 0;
    rc = iocph_file_get_length(src, &size);
    if (rc < 0)
        return fail("file length", rc);

    slot *slots = calloc(in_flight, sizeof *slots);
    if (!slots)
        return fail("allocating", IOCPH_E_NOMEM);
    uint64_t next_offset = 0, copied = 0;
    uint32_t active = 0;
    double start = now_seconds();

    /* Takes the next chunk for slot i and starts its first read; 0 if the file is done. */
#define NEXT_CHUNK(i)                                                                            \
    (next_offset < size                                                                          \
         ? (slots[i].pos = next_offset,                                                          \
            slots[i].end = size - next_offset < chunk ? size : next_offset + chunk,              \
            next_offset = slots[i].end, 1)                                                       \
         : 0)

    for (uint32_t i = 0; i < in_flight && NEXT_CHUNK(i); i++) {
        slots[i].buffer = malloc(chunk);
        if (!slots[i].buffer)
            return fail("allocating", IOCPH_E_NOMEM);
        rc = iocph_file_read(src, slots[i].buffer, (uint32_t)(slots[i].end - slots[i].pos),
                             slots[i].pos, i, NULL);
        if (rc < 0)
            return fail("read", rc);
        active++;
    }

    iocph_completion done[64];
    while (active > 0) {
        uint32_t n = 0;
        rc = iocph_port_dequeue(port, done, 64, 30000, &n);
        if (rc < 0)
            return fail("waiting for completions", rc);
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = (uint32_t)done[k].user_data;
            slot *s = &slots[i];
            int64_t result = done[k].result;
            if (result < 0)
                return fail(s->writing ? "write" : "read", (int32_t)result);
            if (!s->writing) {
                if (result == 0)
                    return fail("read: the source shrank while copying", IOCPH_E_IO);
                s->filled = (uint32_t)result;
                s->written = 0;
                s->writing = 1;
            } else {
                s->written += (uint32_t)result;
                copied += (uint64_t)result;
                if (s->written == s->filled) {
                    s->pos += s->filled;
                    s->writing = 0;
                }
            }
            if (s->writing) {
                rc = iocph_file_write(dst, s->buffer + s->written, s->filled - s->written,
                                      s->pos + s->written, i, NULL);
                if (rc < 0)
                    return fail("write", rc);
            } else if (s->pos < s->end || NEXT_CHUNK(i)) {
                rc = iocph_file_read(src, s->buffer, (uint32_t)(s->end - s->pos), s->pos, i,
                                     NULL);
                if (rc < 0)
                    return fail("read", rc);
            } else {
                active--;
            }
        }
    }
    rc = iocph_file_flush(dst, 0, NULL);
    if (rc == IOCPH_OK) {
        uint32_t n = 0;
        rc = iocph_port_dequeue(port, done, 1, 30000, &n);
        if (rc == IOCPH_OK && done[0].result < 0)
            rc = (int32_t)done[0].result;
    }
    if (rc < 0)
        return fail("flush", rc);
    double seconds = now_seconds() - start;

    iocph_port_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.size = sizeof stats;
    iocph_port_get_stats(port, &stats);
    printf("copied %" PRIu64 " bytes with %s: %.1f MiB/s (%.3f s, %u x %u KiB in flight, "
           "%" PRIu64 " completions in %" PRIu64 " dequeues)\n",
           copied, iocph_backend_name(backend),
           seconds > 0 ? (double)copied / (1024.0 * 1024.0) / seconds : 0.0, seconds, in_flight,
           chunk / 1024u, stats.completions_delivered, stats.callback_batches);

    for (uint32_t i = 0; i < in_flight; i++)
        free(slots[i].buffer);
    free(slots);
    iocph_handle_close(src);
    iocph_handle_close(dst);
    iocph_port_destroy(port);
    return copied == size ? 0 : 1;
}
