/* Sends that can't complete (the peer reads nothing, buffers are small): cancelled by request,
 * by cancel-all with another send queued behind, and by a timeout. Each completes exactly once;
 * a send that was cut short reports the error, never a partial count. */
#include "test_util.h"

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(2);
    iocph_handle_t client, server;
    test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
    CHECK_OK(iocph_socket_set_option(client, IOCPH_SOCKOPT_SEND_BUFFER, 4096));
    CHECK_OK(iocph_socket_set_option(server, IOCPH_SOCKOPT_RECEIVE_BUFFER, 4096));
    const uint32_t big_len = 16u << 20;
    uint8_t *big = calloc(1, big_len);
    CHECK(big != NULL);
    iocph_completion c;

    /* Cancel by request; a small send queued behind it is cancelled by cancel-all (or went
     * out, where the OS found room for it once the big one stopped). */
    iocph_op_t op;
    CHECK_OK(iocph_socket_send(client, big, big_len, 0, 1, &op));
    CHECK_OK(iocph_socket_send(client, "tail", 4, 0, 2, NULL));
    test_expect_nothing(port, 100);
    CHECK_OK(iocph_op_cancel(client, op));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 1);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
    CHECK_OK(iocph_handle_cancel_all(client));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 2);
    CHECK(c.result == IOCPH_E_CANCELED || c.result == 4);
    test_expect_nothing(port, 50);

    /* Timeout. */
    uint64_t t0 = test_now_ms();
    CHECK_OK(iocph_socket_send(client, big, big_len, 200, 3, NULL));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 3);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_TIMEOUT);
    CHECK(test_now_ms() - t0 >= 180);

    /* Close with a send pending. */
    CHECK_OK(iocph_socket_send(client, big, big_len, 0, 4, NULL));
    test_expect_nothing(port, 50);
    CHECK_OK(iocph_handle_close(client));
    c = test_dequeue_one(port, 5000);
    CHECK_EQ(c.user_data, 4);
    CHECK_STATUS((int32_t)c.result, IOCPH_E_CANCELED);
    test_expect_nothing(port, 50);

    CHECK_OK(iocph_handle_close(server));
    free(big);
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
