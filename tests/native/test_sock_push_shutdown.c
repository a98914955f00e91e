/* A push-mode echo server that lives entirely in the completion callback (accepts re-armed,
 * receives and sends started from the callback), driven by clients on a second, pull-mode port;
 * then iocph_port_shutdown with accepts and a receive still pending: each completes exactly once
 * with IOCPH_E_CANCELED through the callback, and the port ends idle. */
#include "test_util.h"

enum { CLIENTS = 50, ACCEPTORS = 4, LEN = 1000 };
enum { TAG_RECV = 1, TAG_SEND = 2 };
enum { KEY_LISTENER = 1, KEY_CONN = 2 };

typedef struct conn {
    iocph_handle_t socket;
    uint8_t buf[LEN];
} conn;

typedef struct acceptor {
    iocph_accept_result result;
} acceptor;

static iocph_handle_t listener;
static acceptor acceptors[ACCEPTORS];
static _Atomic uint64_t accepted, closed_orderly, cancelled_accepts, cancelled_receives,
    other_errors, accept_user_data_seen[ACCEPTORS];

static void conn_end(conn *c)
{
    iocph_handle_close(c->socket);
    free(c);
}

static void on_batch(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        const iocph_completion *e = &entries[i];
        if (e->key == KEY_LISTENER) {
            uint64_t slot = e->user_data;
            atomic_fetch_add(&accept_user_data_seen[slot], 1);
            if (e->result == IOCPH_E_CANCELED) {
                atomic_fetch_add(&cancelled_accepts, 1);
                continue;
            }
            if (e->result != 0) {
                atomic_fetch_add(&other_errors, 1);
                continue;
            }
            atomic_fetch_add(&accepted, 1);
            conn *c = calloc(1, sizeof *c);
            c->socket = acceptors[slot].result.socket;
            if (iocph_socket_receive(c->socket, c->buf, LEN, 0,
                                     (uint64_t)(uintptr_t)c | TAG_RECV, NULL) != IOCPH_OK) {
                atomic_fetch_add(&other_errors, 1);
                conn_end(c);
            }
            /* Re-arm this acceptor (refused with IOCPH_E_SHUTDOWN once shutdown began). */
            iocph_tcp_accept(listener, KEY_CONN, &acceptors[slot].result, 0, slot, NULL);
            continue;
        }
        conn *c = (conn *)(uintptr_t)(e->user_data & ~(uint64_t)3);
        uint32_t tag = (uint32_t)(e->user_data & 3);
        if (e->result < 0) {
            if (tag == TAG_RECV && e->result == IOCPH_E_CANCELED)
                atomic_fetch_add(&cancelled_receives, 1);
            else
                atomic_fetch_add(&other_errors, 1);
            conn_end(c);
        } else if (tag == TAG_RECV && e->result == 0) {
            atomic_fetch_add(&closed_orderly, 1);
            conn_end(c);
        } else if (tag == TAG_RECV) {
            if (iocph_socket_send(c->socket, c->buf, (uint32_t)e->result, 0,
                                  (uint64_t)(uintptr_t)c | TAG_SEND, NULL) != IOCPH_OK) {
                atomic_fetch_add(&other_errors, 1);
                conn_end(c);
            }
        } else if (iocph_socket_receive(c->socket, c->buf, LEN, 0,
                                        (uint64_t)(uintptr_t)c | TAG_RECV, NULL) != IOCPH_OK) {
            atomic_fetch_add(&other_errors, 1);
            conn_end(c);
        }
    }
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t server_port = test_port_push(2, on_batch);
    iocph_port_t client_port = test_port_pull(1);

    iocph_endpoint ep = test_loopback(IOCPH_AF_INET, 0);
    CHECK_OK(iocph_tcp_listen(server_port, &ep, 0, 0, KEY_LISTENER, &listener));
    CHECK_OK(iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &ep));
    for (uint64_t i = 0; i < ACCEPTORS; i++)
        CHECK_OK(iocph_tcp_accept(listener, KEY_CONN, &acceptors[i].result, 0, i, NULL));

    /* Echo through the callback server. */
    static iocph_handle_t clients[CLIENTS];
    static uint8_t out[CLIENTS][LEN], back[CLIENTS][LEN];
    static uint32_t got[CLIENTS];
    for (uint32_t i = 0; i < CLIENTS; i++)
        CHECK_OK(iocph_tcp_connect(client_port, &ep, NULL, 0, 10000, i, &clients[i], NULL));
    uint32_t pending = CLIENTS * 3; /* connect, send, echo fully received */
    while (pending > 0) {
        iocph_completion c = test_dequeue_one(client_port, 10000);
        uint32_t i = (uint32_t)(c.user_data & 0xFFFF), what = (uint32_t)(c.user_data >> 16);
        CHECK(i < CLIENTS);
        if (c.result < 0)
            test_fail(__FILE__, __LINE__, "client %u op %u: %s", i, what,
                      iocph_status_message((int32_t)c.result));
        if (what == 0) { /* connected */
            test_fill(out[i], LEN, i);
            CHECK_OK(iocph_socket_send(clients[i], out[i], LEN, 0, (1u << 16) | i, NULL));
            CHECK_OK(iocph_socket_receive(clients[i], back[i], LEN, 0, (2u << 16) | i, NULL));
            pending--;
        } else if (what == 1) {
            CHECK_EQ(c.result, LEN);
            pending--;
        } else {
            CHECK(c.result > 0);
            got[i] += (uint32_t)c.result;
            if (got[i] < LEN)
                CHECK_OK(iocph_socket_receive(clients[i], back[i] + got[i], LEN - got[i], 0,
                                              (2u << 16) | i, NULL));
            else
                pending--;
        }
    }
    for (uint32_t i = 0; i < CLIENTS; i++) {
        CHECK(test_check_fill(back[i], LEN, i));
        CHECK_OK(iocph_handle_close(clients[i])); /* the server sees 0 and closes its side */
    }
    test_wait_count(&closed_orderly, CLIENTS, 10000);
    CHECK_EQ(atomic_load(&closed_orderly), CLIENTS);
    CHECK_EQ(atomic_load(&accepted), CLIENTS);

    /* One idle connection: the server has a receive pending on it. */
    iocph_handle_t idle;
    CHECK_OK(iocph_tcp_connect(client_port, &ep, NULL, 0, 10000, 999, &idle, NULL));
    iocph_completion c = test_dequeue_one(client_port, 10000);
    CHECK_EQ(c.result, 0);
    test_wait_count(&accepted, CLIENTS + 1, 10000);
    test_sleep_ms(50); /* let the callback start its receive */

    /* Shutdown with ACCEPTORS accepts and one receive pending. */
    CHECK_OK(iocph_port_shutdown(server_port, 10000));
    CHECK_EQ(atomic_load(&cancelled_accepts), ACCEPTORS);
    CHECK_EQ(atomic_load(&cancelled_receives), 1);
    CHECK_EQ(atomic_load(&other_errors), 0);
    uint64_t accept_completions = 0;
    for (int i = 0; i < ACCEPTORS; i++)
        accept_completions += atomic_load(&accept_user_data_seen[i]);
    CHECK_EQ(accept_completions, CLIENTS + 1 + ACCEPTORS); /* each accept ended once */

    /* New operations are refused; the listener is still the caller's to close. */
    iocph_accept_result ar;
    CHECK_STATUS(iocph_tcp_accept(listener, 0, &ar, 0, 0, NULL), IOCPH_E_SHUTDOWN);
    CHECK_OK(iocph_handle_close(listener));
    test_check_stats_idle(server_port);
    CHECK_OK(iocph_port_destroy(server_port));

    CHECK_OK(iocph_handle_close(idle));
    test_check_stats_idle(client_port);
    CHECK_OK(iocph_port_destroy(client_port));
    return 0;
}
