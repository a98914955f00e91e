/* Files: data written at many offsets with hundreds of operations in flight is read back byte
 * for byte, on a port with two rings / workers. Results are exactly the lengths asked for. */
#include "test_util.h"

#define CHUNKS 400u
#define MAX_CHUNK 5000u

static uint32_t chunk_len(uint32_t i) { return 1000u + (i * 37u) % (MAX_CHUNK - 1000u); }

static uint8_t pattern(uint64_t offset) { return (uint8_t)((offset * 2654435761u) >> 13); }

int main(void)
{
    test_watchdog(100);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "rw");
    test_path(path, sizeof path, dir, "data.bin");
    iocph_port_t port = test_port_pull(2);

    iocph_handle_t f;
    CHECK_OK(iocph_file_open(port, path,
                             IOCPH_FILE_READ | IOCPH_FILE_WRITE | IOCPH_FILE_CREATE |
                                 IOCPH_FILE_TRUNCATE,
                             0xF11E, &f));
    uint64_t offsets[CHUNKS];
    uint64_t total = 0;
    for (uint32_t i = 0; i < CHUNKS; i++) {
        offsets[i] = total;
        total += chunk_len(i);
    }
    uint8_t *src = malloc(total);
    uint8_t *dst = malloc(total);
    CHECK(src && dst);
    for (uint64_t i = 0; i < total; i++)
        src[i] = pattern(i);
    memset(dst, 0, total);

    /* Every write in flight at once, in a scrambled order of offsets. */
    for (uint32_t k = 0; k < CHUNKS; k++) {
        uint32_t i = (k * 7919u) % CHUNKS;
        iocph_op_t op = 0;
        CHECK_OK(iocph_file_write(f, src + offsets[i], chunk_len(i), offsets[i], 1000 + i, &op));
        CHECK(op != 0);
    }
    uint8_t done[CHUNKS];
    memset(done, 0, sizeof done);
    for (uint32_t got = 0; got < CHUNKS;) {
        iocph_completion c[64];
        uint32_t n = 0;
        CHECK_OK(iocph_port_dequeue(port, c, 64, 10000, &n));
        for (uint32_t j = 0; j < n; j++) {
            CHECK(c[j].user_data >= 1000 && c[j].user_data < 1000 + CHUNKS);
            uint32_t i = (uint32_t)(c[j].user_data - 1000);
            CHECK_EQ(done[i], 0);
            done[i] = 1;
            CHECK_EQ(c[j].key, 0xF11E);
            CHECK_EQ(c[j].flags, 0);
            CHECK_EQ(c[j].os_error, 0);
            CHECK_EQ(c[j].result, chunk_len(i));
        }
        got += n;
    }
    uint64_t length = 0;
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, total);

    /* Read it all back, again all in flight, in another order. */
    for (uint32_t k = 0; k < CHUNKS; k++) {
        uint32_t i = CHUNKS - 1 - k;
        CHECK_OK(iocph_file_read(f, dst + offsets[i], chunk_len(i), offsets[i], 5000 + i, NULL));
    }
    memset(done, 0, sizeof done);
    for (uint32_t got = 0; got < CHUNKS;) {
        iocph_completion c[64];
        uint32_t n = 0;
        CHECK_OK(iocph_port_dequeue(port, c, 64, 10000, &n));
        for (uint32_t j = 0; j < n; j++) {
            uint32_t i = (uint32_t)(c[j].user_data - 5000);
            CHECK(i < CHUNKS);
            CHECK_EQ(done[i], 0);
            done[i] = 1;
            CHECK_EQ(c[j].result, chunk_len(i));
        }
        got += n;
    }
    for (uint64_t i = 0; i < total; i++)
        if (dst[i] != src[i])
            test_fail(__FILE__, __LINE__, "byte %llu differs", (unsigned long long)i);

    /* Reads straddling and past the end: short, then 0. */
    uint8_t buf[100];
    CHECK_OK(iocph_file_read(f, buf, sizeof buf, total - 10, 1, NULL));
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 10);
    CHECK(memcmp(buf, src + total - 10, 10) == 0);
    CHECK_OK(iocph_file_read(f, buf, sizeof buf, total, 2, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 2);
    CHECK_EQ(c.result, 0);
    CHECK_OK(iocph_file_read(f, buf, sizeof buf, total + 1000000, 3, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 0);
    CHECK_EQ(c.os_error, 0);
    /* The largest offset a read accepts. */
    CHECK_OK(iocph_file_read(f, buf, sizeof buf, (uint64_t)INT64_MAX - 1000, 4, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK(c.result == 0 || c.result < 0); /* EOF, or an error the OS chose for such an offset */

    /* A write far beyond the end makes a sparse file. */
    CHECK_OK(iocph_file_write(f, "end", 3, total + 65536, 5, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 3);
    CHECK_OK(iocph_file_get_length(f, &length));
    CHECK_EQ(length, total + 65536 + 3);

    CHECK_OK(iocph_handle_close(f));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    free(src);
    free(dst);
    test_remove_file(path);
    test_remove_dir(dir);
    return 0;
}
