/* Pipes: bytes arrive in order, a large write completes only when every byte is written (with
 * the reader draining concurrently), the reader sees 0 when the writer closes, and a write to a
 * pipe whose reader is gone fails with IOCPH_E_BROKEN_PIPE instead of killing the process. */
#include "test_util.h"

#define BIG (4u << 20)

static iocph_completion dequeue_key(iocph_port_t port, uint64_t user_data)
{
    iocph_completion c = test_dequeue_one(port, 10000);
    if (c.user_data != user_data)
        test_fail(__FILE__, __LINE__, "got user_data %llu, expected %llu",
                  (unsigned long long)c.user_data, (unsigned long long)user_data);
    return c;
}

int main(void)
{
    test_watchdog(100);
    iocph_port_t port = test_port_pull(1);
    iocph_handle_t r, w;
    CHECK_STATUS(iocph_pipe_create(port, 1, NULL, &w), IOCPH_E_INVALID_ARGUMENT);
    CHECK_STATUS(iocph_pipe_create(port, 1, &r, NULL), IOCPH_E_INVALID_ARGUMENT);
    CHECK_OK(iocph_pipe_create(port, 0xABC, &r, &w));
    CHECK(r != 0 && w != 0 && r != w);

    /* Small round trip. */
    char in[64];
    CHECK_OK(iocph_pipe_write(w, "hello", 5, 1, NULL));
    iocph_completion c = dequeue_key(port, 1);
    CHECK_EQ(c.result, 5);
    CHECK_EQ(c.key, 0xABC);
    CHECK_OK(iocph_pipe_read(r, in, sizeof in, 2, NULL));
    c = dequeue_key(port, 2);
    CHECK_EQ(c.result, 5);
    CHECK(memcmp(in, "hello", 5) == 0);

    /* A read posted first waits for data. */
    CHECK_OK(iocph_pipe_read(r, in, sizeof in, 3, NULL));
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_pipe_write(w, "x", 1, 4, NULL));
    for (int i = 0; i < 2; i++) {
        c = test_dequeue_one(port, 10000);
        CHECK(c.user_data == 3 || c.user_data == 4);
        CHECK_EQ(c.result, 1);
    }
    CHECK_EQ(in[0], 'x');

    /* Several writes in flight keep their order; one 4 MiB write is far beyond the socket
     * buffer, so it needs the reader and completes only when all of it is written. */
    uint8_t *big = malloc(BIG), *got = malloc(BIG + 300);
    CHECK(big && got);
    for (uint32_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 131u + (i >> 12));
    CHECK_OK(iocph_pipe_write(w, "ab", 2, 10, NULL));
    CHECK_OK(iocph_pipe_write(w, big, BIG, 11, NULL));
    CHECK_OK(iocph_pipe_write(w, "cd", 2, 12, NULL));
    uint64_t received = 0;
    int writes_done = 0;
    uint64_t expected_total = BIG + 4;
    CHECK_OK(iocph_pipe_read(r, got, 65536, 100, NULL));
    while (received < expected_total || writes_done < 3) {
        c = test_dequeue_one(port, 10000);
        if (c.user_data >= 10 && c.user_data <= 12) {
            CHECK_EQ(c.result, c.user_data == 11 ? BIG : 2);
            writes_done++;
            continue;
        }
        CHECK_EQ(c.user_data, 100);
        CHECK(c.result > 0);
        received += (uint64_t)c.result;
        if (received < expected_total) {
            uint64_t room = expected_total - received;
            CHECK_OK(iocph_pipe_read(r, got + received, room < 65536 ? (uint32_t)room : 65536, 100,
                                     NULL));
        }
    }
    CHECK_EQ(received, expected_total);
    CHECK(memcmp(got, "ab", 2) == 0);
    CHECK(memcmp(got + 2, big, BIG) == 0);
    CHECK(memcmp(got + 2 + BIG, "cd", 2) == 0);

    /* Writer closes: a pending read completes with 0, and so does a new one. */
    CHECK_OK(iocph_pipe_read(r, in, sizeof in, 20, NULL));
    test_expect_nothing(port, 20);
    CHECK_OK(iocph_handle_close(w));
    c = dequeue_key(port, 20);
    CHECK_EQ(c.result, 0);
    CHECK_OK(iocph_pipe_read(r, in, sizeof in, 21, NULL));
    c = dequeue_key(port, 21);
    CHECK_EQ(c.result, 0);
    CHECK_OK(iocph_handle_close(r));

    /* Reader closes: the writer gets BROKEN_PIPE (and the process no SIGPIPE). */
    CHECK_OK(iocph_pipe_create(port, 2, &r, &w));
    CHECK_OK(iocph_handle_close(r));
    CHECK_OK(iocph_pipe_write(w, "lost", 4, 30, NULL));
    c = dequeue_key(port, 30);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_BROKEN_PIPE);
    CHECK(c.os_error != 0);
    CHECK_OK(iocph_handle_close(w));

    /* Reader closes with bytes it never read (a socket pair inside says "reset" then): still
     * BROKEN_PIPE for the next write. */
    CHECK_OK(iocph_pipe_create(port, 2, &r, &w));
    CHECK_OK(iocph_pipe_write(w, "unread", 6, 32, NULL));
    CHECK_EQ(dequeue_key(port, 32).result, 6);
    CHECK_OK(iocph_handle_close(r));
    CHECK_OK(iocph_pipe_write(w, "lost", 4, 33, NULL));
    c = dequeue_key(port, 33);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_BROKEN_PIPE);
    CHECK(c.os_error != 0);
    CHECK_OK(iocph_handle_close(w));
    /* Also a big write that was in flight when the reader went away. */
    CHECK_OK(iocph_pipe_create(port, 3, &r, &w));
    CHECK_OK(iocph_pipe_write(w, big, BIG, 31, NULL));
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_handle_close(r));
    c = dequeue_key(port, 31);
    /* Either the error, or how much got out before it (the header allows a partial result only
     * for cancellation, and a vanished reader is reported as an error). */
    CHECK_STATUS((int32_t)c.result, IOCPH_E_BROKEN_PIPE);
    CHECK_OK(iocph_handle_close(w));

    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    free(big);
    free(got);
    return 0;
}
