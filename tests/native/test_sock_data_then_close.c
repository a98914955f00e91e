/* A peer that sends a little and closes at once: the receiver gets the bytes (fewer than it asked
 * for), then 0 - on the connecting side and on the accepting side, with the receive posted before
 * or after the bytes arrived. A backend that reads "fewer bytes than asked" as "nothing more is
 * waiting" must not miss the end of the stream behind them (it brings no readiness of its own). */
#include "test_util.h"

#include <string.h>

/* A receive into a buffer larger than what is sent: 5 bytes, then the end (0). */
static void receive_data_then_end(iocph_port_t port, iocph_handle_t receiver,
                                  iocph_handle_t sender, int post_first)
{
    char buf[64];
    if (post_first) {
        CHECK_OK(iocph_socket_receive(receiver, buf, sizeof buf, 10000, 1, NULL));
        CHECK_OK(iocph_handle_close(sender));
    } else {
        CHECK_OK(iocph_handle_close(sender));
        test_sleep_ms(50); /* the bytes and the end are both there before the receive */
        CHECK_OK(iocph_socket_receive(receiver, buf, sizeof buf, 10000, 1, NULL));
    }
    iocph_completion c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.result, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_OK(iocph_socket_receive(receiver, buf, sizeof buf, 10000, 2, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 2);
    CHECK_EQ(c.result, 0);
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);
    for (int post_first = 0; post_first < 2; post_first++) {
        for (int accepted_sends = 0; accepted_sends < 2; accepted_sends++) {
            iocph_handle_t client, server;
            test_tcp_pair(port, IOCPH_AF_INET, &client, &server);
            iocph_handle_t sender = accepted_sends ? server : client;
            iocph_handle_t receiver = accepted_sends ? client : server;
            CHECK_OK(iocph_socket_send(sender, "hello", 5, 0, 9, NULL));
            CHECK_EQ(test_dequeue_one(port, 10000).result, 5);
            receive_data_then_end(port, receiver, sender, post_first);
            CHECK_OK(iocph_handle_close(receiver));
        }
    }
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
