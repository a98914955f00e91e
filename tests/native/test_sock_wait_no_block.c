/* What a port holds for idle connections: a pending wait for data without a timeout (a
 * zero-length receive) borrows no socket block, however many are pending; ops that need one
 * borrow it while they are live and give it back, so the blocks a port makes follow the peak of
 * such ops in flight, and the next ones reuse them. A wait with a timeout keeps its block (its
 * timer lives there) and still times out; waits without one still complete on data, cancel and
 * close (test_sock_wait_for_data covers the rest of their behaviour). */
#include "test_util.h" /* first: it sets the feature macros */

#include "test_hooks.h"

enum { PAIRS = 24, UD_WAIT = 1, UD_TIMED = 2, UD_SEND = 3, UD_RECV = 4 };

static void blocks(iocph_port_t port, uint64_t *made, uint64_t *idle)
{
    CHECK_OK(iocph__test_socket_blocks(port, made, idle));
}

int main(void)
{
    test_watchdog(120);
    iocph_port_t port = test_port_pull(1);
    iocph_handle_t client[PAIRS], server[PAIRS];
    for (int i = 0; i < PAIRS; i++)
        test_tcp_pair(port, IOCPH_AF_INET, &client[i], &server[i]);

    /* The accepts and connects gave their blocks back: all idle. */
    uint64_t made0, idle;
    blocks(port, &made0, &idle);
    CHECK(made0 >= 1);
    CHECK_EQ(idle, made0);

    /* A wait for data on every connection, both ends: no block made, none taken. */
    iocph_op_t waits[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        CHECK_OK(iocph_socket_receive(server[i], NULL, 0, 0, UD_WAIT, &waits[i]));
        CHECK_OK(iocph_socket_receive(client[i], NULL, 0, 0, UD_WAIT, NULL));
    }
    test_expect_nothing(port, 100);
    uint64_t made;
    blocks(port, &made, &idle);
    CHECK_EQ(made, made0);
    CHECK_EQ(idle, made0);

    /* They still complete: on data (client side, each gets a byte), on cancel (server side,
     * half of them) and on close (the other half). */
    for (int i = 0; i < PAIRS; i++)
        CHECK_OK(iocph_socket_send(server[i], "x", 1, 0, UD_SEND, NULL));
    iocph_completion c[2 * PAIRS];
    test_dequeue_n(port, c, 2 * PAIRS, 10000);
    uint32_t sends = 0, woken = 0;
    for (int i = 0; i < 2 * PAIRS; i++) {
        if (c[i].user_data == UD_SEND) {
            CHECK_EQ(c[i].result, 1);
            sends++;
        } else {
            CHECK_EQ(c[i].user_data, UD_WAIT);
            CHECK_EQ(c[i].result, 0);
            woken++;
        }
    }
    CHECK_EQ(sends, PAIRS);
    CHECK_EQ(woken, PAIRS);
    /* The sends borrowed blocks (as many as were in flight at once) and gave them back. */
    uint64_t made_sends;
    blocks(port, &made_sends, &idle);
    CHECK(made_sends <= made0 + PAIRS);
    CHECK_EQ(idle, made_sends);
    for (int i = 0; i < PAIRS / 2; i++)
        CHECK_OK(iocph_op_cancel(server[i], waits[i]));
    test_dequeue_n(port, c, PAIRS / 2, 10000);
    for (int i = 0; i < PAIRS / 2; i++) {
        CHECK_EQ(c[i].user_data, UD_WAIT);
        CHECK_EQ(c[i].result, IOCPH_E_CANCELED);
    }

    /* Waits with a timeout borrow a block each while they are pending (the ones the sends gave
     * back, as far as they go), and time out. */
    for (int i = 0; i < PAIRS / 2; i++)
        CHECK_OK(iocph_socket_receive(server[i], NULL, 0, 300, UD_TIMED, NULL));
    uint64_t made_timed;
    blocks(port, &made_timed, &idle);
    CHECK_EQ(made_timed, made_sends > PAIRS / 2 ? made_sends : (uint64_t)(PAIRS / 2));
    CHECK_EQ(made_timed - idle, (uint64_t)(PAIRS / 2)); /* held: the timed waits' */
    test_dequeue_n(port, c, PAIRS / 2, 10000);
    for (int i = 0; i < PAIRS / 2; i++) {
        CHECK_EQ(c[i].user_data, UD_TIMED);
        CHECK_EQ(c[i].result, IOCPH_E_TIMEOUT);
    }
    blocks(port, &made, &idle);
    CHECK_EQ(made, made_timed);
    CHECK_EQ(idle, made); /* all given back */

    /* The next ops that need blocks reuse them: as many receives (with buffers) as the timed
     * waits were make no new block. The byte each client has is still there to receive. */
    char bytes[PAIRS];
    for (int i = 0; i < PAIRS / 2; i++)
        CHECK_OK(iocph_socket_receive(client[i], &bytes[i], 1, 0, UD_RECV, NULL));
    test_dequeue_n(port, c, PAIRS / 2, 10000);
    for (int i = 0; i < PAIRS / 2; i++) {
        CHECK_EQ(c[i].user_data, UD_RECV);
        CHECK_EQ(c[i].result, 1);
    }
    blocks(port, &made, &idle);
    CHECK_EQ(made, made_timed);
    CHECK_EQ(idle, made);

    /* Closing ends the waits still pending (server side, second half), once each. */
    for (int i = PAIRS / 2; i < PAIRS; i++)
        CHECK_OK(iocph_handle_close(server[i]));
    test_dequeue_n(port, c, PAIRS - PAIRS / 2, 10000);
    for (int i = 0; i < PAIRS - PAIRS / 2; i++) {
        CHECK_EQ(c[i].user_data, UD_WAIT);
        CHECK(c[i].result < 0);
    }
    test_expect_nothing(port, 100);
    for (int i = 0; i < PAIRS; i++) {
        CHECK_OK(iocph_handle_close(client[i]));
        if (i < PAIRS / 2)
            CHECK_OK(iocph_handle_close(server[i]));
    }
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
