/* 1,000 concurrent connections through one listening port, with 16 accepts outstanding at a
 * time: every client connects, sends its index, the server echoes it on the accepted socket and
 * the client checks it. All operations of all connections are in flight together and finish in
 * whatever order the port delivers them (pull mode, batches). */
#include "test_util.h"

/* MSG_LEN, not MSG: windows.h declares a MSG type. */
enum { N = 1000, ACCEPTS = 16, MSG_LEN = 8 };
enum { T_CONNECT = 1, T_ACCEPT, T_CSEND, T_SRECV, T_SSEND, T_CRECV };

#define UD(tag, i) (((uint64_t)(tag) << 32) | (uint32_t)(i))

static iocph_handle_t clients[N], servers[N];
static iocph_accept_result accepts[N];
static uint8_t csend[N][MSG_LEN], crecv[N][MSG_LEN], sbuf[N][MSG_LEN];

int main(void)
{
    test_watchdog(100);
    iocph_port_t port = test_port_pull(2);
    iocph_endpoint bound;
    iocph_handle_t listener = test_listen(port, IOCPH_AF_INET, 0, &bound);
    uint64_t t0 = test_now_ms();

    uint32_t accepts_started = 0, accepted = 0;
    for (; accepts_started < ACCEPTS; accepts_started++)
        CHECK_OK(iocph_tcp_accept(listener, 100, &accepts[accepts_started], 0,
                                  UD(T_ACCEPT, accepts_started), NULL));
    for (uint32_t i = 0; i < N; i++)
        CHECK_OK(iocph_tcp_connect(port, &bound, NULL, 200, 30000, UD(T_CONNECT, i), &clients[i],
                                   NULL));

    uint32_t counts[T_CRECV + 1] = {0};
    uint32_t total = 0;
    iocph_completion batch[64];
    while (total < 6u * N) {
        uint32_t n = 0;
        int32_t rc = iocph_port_dequeue(port, batch, 64, 20000, &n);
        if (rc != IOCPH_OK)
            test_fail(__FILE__, __LINE__, "dequeue %d after %u completions (%u %u %u %u %u %u)",
                      (int)rc, total, counts[1], counts[2], counts[3], counts[4], counts[5],
                      counts[6]);
        for (uint32_t k = 0; k < n; k++) {
            iocph_completion *c = &batch[k];
            uint32_t tag = (uint32_t)(c->user_data >> 32), i = (uint32_t)c->user_data;
            CHECK(tag >= T_CONNECT && tag <= T_CRECV && i < N);
            if (c->result < 0)
                test_fail(__FILE__, __LINE__, "tag %u index %u: %s", tag, i,
                          iocph_status_message((int32_t)c->result));
            counts[tag]++;
            total++;
            switch (tag) {
            case T_CONNECT:
                CHECK_EQ(c->key, 200);
                memcpy(csend[i], &i, sizeof i);
                memset(csend[i] + sizeof i, 0x5A, MSG_LEN - sizeof i);
                CHECK_OK(iocph_socket_receive(clients[i], crecv[i], MSG_LEN, 0, UD(T_CRECV, i), NULL));
                CHECK_OK(iocph_socket_send(clients[i], csend[i], MSG_LEN, 0, UD(T_CSEND, i), NULL));
                break;
            case T_ACCEPT:
                CHECK_EQ(c->key, 7); /* the listener's key */
                CHECK(accepts[i].socket != 0);
                servers[accepted] = accepts[i].socket;
                CHECK_OK(iocph_socket_receive(servers[accepted], sbuf[accepted], MSG_LEN, 0,
                                              UD(T_SRECV, accepted), NULL));
                accepted++;
                if (accepts_started < N) {
                    CHECK_OK(iocph_tcp_accept(listener, 100, &accepts[accepts_started], 0,
                                              UD(T_ACCEPT, accepts_started), NULL));
                    accepts_started++;
                }
                break;
            case T_CSEND:
            case T_SSEND:
                CHECK_EQ(c->result, MSG_LEN);
                break;
            case T_SRECV:
                CHECK_EQ(c->key, 100);
                CHECK_EQ(c->result, MSG_LEN); /* 8 bytes on loopback arrive in one segment */
                CHECK_OK(iocph_socket_send(servers[i], sbuf[i], MSG_LEN, 0, UD(T_SSEND, i), NULL));
                break;
            default: /* T_CRECV */
                CHECK_EQ(c->result, MSG_LEN);
                CHECK(memcmp(crecv[i], csend[i], MSG_LEN) == 0);
                break;
            }
        }
    }
    for (uint32_t t = T_CONNECT; t <= T_CRECV; t++)
        CHECK_EQ(counts[t], N);
    printf("%d connections, 6 operations each, in %llu ms\n", N,
           (unsigned long long)(test_now_ms() - t0));

    test_expect_nothing(port, 50);
    for (uint32_t i = 0; i < N; i++) {
        CHECK_OK(iocph_handle_close(clients[i]));
        CHECK_OK(iocph_handle_close(servers[i]));
    }
    CHECK_OK(iocph_handle_close(listener));
    test_check_stats_idle(port);
    CHECK_OK(iocph_port_destroy(port));
    return 0;
}
