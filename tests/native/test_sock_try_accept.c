/* iocph_tcp_try_accept: takes connections already waiting in the backlog on the calling thread
 * (io_uring and epoll; IOCP declines), each a working socket of the port under the key asked
 * for, with its peer's endpoint; WOULD_BLOCK with nothing waiting, consuming nothing and
 * delivering no completion; mixes with asynchronous accepts, which still wait for a connection
 * (io_uring's listeners are nonblocking for it); works inside a callback of the worker that owns
 * the listener (where other attempts decline on io_uring: an accept loop there must take a burst
 * at once); checks its arguments. */
#include "test_util.h"

static int attempts; /* io_uring and epoll accept for real; IOCP always declines */

enum { CLIENTS = 3 };

/* Polls try_accept until it stops saying WOULD_BLOCK (the handshake travels through loopback). */
static int32_t try_accept_soon(iocph_handle_t listener, uint64_t key, iocph_accept_result *r)
{
    uint64_t deadline = test_now_ms() + 10000;
    int32_t rc;
    while ((rc = iocph_tcp_try_accept(listener, key, r)) == IOCPH_E_WOULD_BLOCK &&
           test_now_ms() < deadline)
        test_sleep_ms(1);
    return rc;
}

/* One byte each way between an accepted socket and its client; the accepted socket's
 * completion carries `key`. */
static void exchange(iocph_port_t port, iocph_handle_t server, iocph_handle_t client, uint64_t key,
                     char byte)
{
    char in = 0;
    CHECK_OK(iocph_socket_receive(server, &in, 1, 0, 40, NULL));
    CHECK_OK(iocph_socket_send(client, &byte, 1, 0, 41, NULL));
    for (int i = 0; i < 2; i++) {
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.result, 1);
        if (c.user_data == 40)
            CHECK_EQ(c.key, key);
        else
            CHECK_EQ(c.user_data, 41);
    }
    CHECK_EQ(in, byte);
    char back = (char)(byte + 1);
    CHECK_OK(iocph_socket_send(server, &back, 1, 0, 42, NULL));
    CHECK_OK(iocph_socket_receive(client, &in, 1, 0, 43, NULL));
    for (int i = 0; i < 2; i++)
        CHECK_EQ(test_dequeue_one(port, 10000).result, 1);
    CHECK_EQ(in, back);
}

static void connect_clients(iocph_port_t port, const iocph_endpoint *to, iocph_handle_t *clients,
                            int count)
{
    for (int i = 0; i < count; i++)
        CHECK_OK(iocph_tcp_connect(port, to, NULL, 9, 0, 50, &clients[i], NULL));
    for (int i = 0; i < count; i++) {
        iocph_completion c = test_dequeue_one(port, 10000);
        CHECK_EQ(c.user_data, 50);
        CHECK_EQ(c.result, 0);
    }
}

static void burst(iocph_port_t port)
{
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
    iocph_accept_result r;
    memset(&r, 0x5a, sizeof r);
    CHECK_STATUS(iocph_tcp_try_accept(listener, 30, &r), IOCPH_E_WOULD_BLOCK);
    CHECK_EQ(r.socket, 0);
    test_expect_nothing(port, 20);

    iocph_handle_t clients[CLIENTS];
    connect_clients(port, &bound, clients, CLIENTS);
    for (int i = 0; i < CLIENTS; i++) {
        iocph_handle_t server;
        if (attempts) {
            CHECK_OK(try_accept_soon(listener, 30 + (uint64_t)i, &r));
        } else {
            CHECK_STATUS(iocph_tcp_try_accept(listener, 30 + (uint64_t)i, &r), IOCPH_E_WOULD_BLOCK);
            CHECK_OK(iocph_tcp_accept(listener, 30 + (uint64_t)i, &r, 0, 51, NULL));
            CHECK_EQ(test_dequeue_one(port, 10000).result, 0);
        }
        server = r.socket;
        CHECK(server != 0);
        /* The peer is one of the clients: its port is a client's local port. */
        CHECK_EQ(r.remote.family, IOCPH_AF_INET);
        int found = -1;
        for (int k = 0; k < CLIENTS; k++) {
            iocph_endpoint local;
            CHECK_OK(iocph_socket_get_endpoint(clients[k], IOCPH_ENDPOINT_LOCAL, &local));
            if (local.port == r.remote.port)
                found = k;
        }
        CHECK(found >= 0);
        exchange(port, server, clients[found], 30 + (uint64_t)i, (char)('a' + i));
        CHECK_OK(iocph_handle_close(server));
    }
    /* The backlog is empty again. */
    CHECK_STATUS(iocph_tcp_try_accept(listener, 30, &r), IOCPH_E_WOULD_BLOCK);
    test_expect_nothing(port, 20);

    /* An asynchronous accept started before any connection still waits for one (io_uring's
     * listener is nonblocking for the attempts: its accept must not fail with EAGAIN). */
    CHECK_OK(iocph_tcp_accept(listener, 60, &r, 0, 52, NULL));
    test_expect_nothing(port, 50);
    iocph_handle_t late;
    CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 9, 0, 50, &late, NULL));
    iocph_completion c;
    for (int i = 0; i < 2; i++) { /* the accept's and the connect's, in either order */
        c = test_dequeue_one(port, 10000);
        CHECK(c.user_data == 50 || c.user_data == 52);
        CHECK_EQ(c.result, 0);
    }
    exchange(port, r.socket, late, 60, 'z');
    CHECK_OK(iocph_handle_close(r.socket));
    CHECK_OK(iocph_handle_close(late));

    /* An asynchronous accept with a timeout and no connection times out as before. */
    CHECK_OK(iocph_tcp_accept(listener, 60, &r, 50, 53, NULL));
    c = test_dequeue_one(port, 10000);
    CHECK_EQ(c.user_data, 53);
    CHECK_EQ(c.result, IOCPH_E_TIMEOUT);

    for (int i = 0; i < CLIENTS; i++)
        CHECK_OK(iocph_handle_close(clients[i]));

    /* Arguments and handles. */
    CHECK_STATUS(iocph_tcp_try_accept(listener, 30, NULL), IOCPH_E_INVALID_ARGUMENT);
    iocph_handle_t a, b;
    test_tcp_pair(port, IOCPH_AF_INET, &a, &b);
    CHECK_STATUS(iocph_tcp_try_accept(a, 30, &r), IOCPH_E_BADHANDLE); /* not a listener */
    CHECK_OK(iocph_handle_close(a));
    CHECK_OK(iocph_handle_close(b));
    CHECK_OK(iocph_handle_close(listener));
    CHECK_STATUS(iocph_tcp_try_accept(listener, 30, &r), IOCPH_E_BADHANDLE);
}

/* Inside a callback of the worker that owns the listener: the callback accepts every waiting
 * connection itself, as an inline accept loop would. */
static struct {
    iocph_handle_t listener;
    iocph_handle_t accepted[CLIENTS + 1];
    int count;
    int32_t last_rc;
    _Atomic uint64_t calls;
} owner;

static void owner_callback(void *ctx, const iocph_completion *e, uint32_t n)
{
    (void)ctx;
    (void)e;
    for (uint32_t i = 0; i < n; i++) {
        iocph_accept_result r;
        while (owner.count <= CLIENTS &&
               (owner.last_rc = iocph_tcp_try_accept(owner.listener, 70, &r)) == IOCPH_OK)
            owner.accepted[owner.count++] = r.socket;
        atomic_fetch_add(&owner.calls, 1);
    }
}

static void on_owning_worker(iocph_port_t other)
{
    iocph_port_t port = test_port_push(1, owner_callback);
    iocph_endpoint ep = test_loopback(IOCPH_AF_INET, 0), bound;
    CHECK_OK(iocph_tcp_listen(port, &ep, 0, 0, 7, &owner.listener));
    CHECK_OK(iocph_socket_get_endpoint(owner.listener, IOCPH_ENDPOINT_LOCAL, &bound));
    iocph_handle_t clients[CLIENTS];
    connect_clients(other, &bound, clients, CLIENTS);
    test_sleep_ms(50); /* loopback: the handshakes are done once the connects completed */

    CHECK_OK(iocph_port_post(port, 0, 1, 0));
    CHECK(test_wait_count(&owner.calls, 1, 10000));
    CHECK_STATUS(owner.last_rc, IOCPH_E_WOULD_BLOCK);
    CHECK_EQ(owner.count, attempts ? CLIENTS : 0);
    for (int i = 0; i < owner.count; i++)
        CHECK_OK(iocph_handle_close(owner.accepted[i]));
    for (int i = 0; i < CLIENTS; i++)
        CHECK_OK(iocph_handle_close(clients[i]));
    CHECK_OK(iocph_handle_close(owner.listener));
    CHECK_OK(iocph_port_shutdown(port, 10000));
    CHECK_OK(iocph_port_destroy(port));
}

int main(void)
{
    test_watchdog(60);
    iocph_port_t port = test_port_pull(1);
    int32_t backend = 0;
    CHECK_OK(iocph_port_get_backend(port, &backend));
    attempts = backend == IOCPH_BACKEND_IO_URING || backend == IOCPH_BACKEND_EPOLL;
    burst(port);
    on_owning_worker(port);
    test_check_stats_idle_at(port, __FILE__, __LINE__);

    /* After shutdown: refused like every start. */
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
    CHECK_OK(iocph_port_shutdown(port, 10000));
    iocph_accept_result r;
    int32_t rc = iocph_tcp_try_accept(listener, 1, &r);
    CHECK(rc == IOCPH_E_SHUTDOWN || rc == IOCPH_E_BADHANDLE);
    CHECK_OK(iocph_port_destroy(port));
    printf("test_sock_try_accept: ok (%s)\n", iocph_backend_name(backend));
    return 0;
}
