/*
 * echo_server.c - a complete TCP echo server on the IocpHybrid C API alone.
 *
 *   echo_server <port> [address]      (address: 127.0.0.1 unless given; IPv4 or IPv6)
 *
 * Prints "listening on <endpoint>" once ready. Push mode: the port's workers run the callback,
 * which drives every connection as a small state machine (receive -> send the bytes back ->
 * receive ...). Each connection has exactly one operation in flight, so it needs no lock.
 * Ctrl+C / SIGTERM shuts the port down gracefully: every pending operation completes (cancelled)
 * through the same callback, which frees what it owns, before the port is destroyed.
 */
#ifndef _WIN32
#define _POSIX_C_SOURCE 200809L /* nanosleep, inet_pton under -std=c11 */
#endif
#include "iocphybrid.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
static void sleep_ms(unsigned ms) { Sleep(ms); }
#else
#include <arpa/inet.h>
#include <time.h>
static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
#endif

#define ACCEPTS_OUTSTANDING 16
#define BUFFER_SIZE 65536
#define TAG_ACCEPT 1u /* user_data low bit: 1 = accept slot, 0 = connection */

typedef struct connection {
    iocph_handle_t socket;
    char buffer[BUFFER_SIZE];
} connection;

typedef struct accept_slot {
    iocph_accept_result result; /* written by the library when the accept completes */
} accept_slot;

static iocph_handle_t listener;
static accept_slot accept_slots[ACCEPTS_OUTSTANDING];
static atomic_long connections_open;
static volatile sig_atomic_t stop_requested;

static void post_accept(accept_slot *slot)
{
    /* Fails only once the port is shutting down: then the slot just stays idle. */
    iocph_tcp_accept(listener, 0, &slot->result, 0, (uint64_t)(uintptr_t)slot | TAG_ACCEPT, NULL);
}

static void close_connection(connection *c)
{
    iocph_handle_close(c->socket);
    free(c);
    atomic_fetch_sub(&connections_open, 1);
}

static void start_receive(connection *c)
{
    if (iocph_socket_receive(c->socket, c->buffer, BUFFER_SIZE, 0, (uint64_t)(uintptr_t)c, NULL) != 0)
        close_connection(c);
}

static void on_accepted(accept_slot *slot, int64_t result)
{
    if (result == 0) {
        connection *c = malloc(sizeof *c);
        if (!c) {
            iocph_handle_close(slot->result.socket);
        } else {
            c->socket = slot->result.socket;
            atomic_fetch_add(&connections_open, 1);
            iocph_socket_set_option(c->socket, IOCPH_SOCKOPT_NO_DELAY, 1);
            start_receive(c);
        }
    }
    if (result != IOCPH_E_CANCELED && result != IOCPH_E_SHUTDOWN)
        post_accept(slot);
}

/* A connection's one operation completed: a receive (the echo goes out) or a send (receive
 * again). The connection remembers which through `sending`, kept in the user_data's bit 1. */
static void on_connection(connection *c, int64_t result, int was_send)
{
    if (result <= 0) { /* 0: the client closed; < 0: reset, cancelled at shutdown, ... */
        close_connection(c);
        return;
    }
    if (was_send) {
        start_receive(c);
        return;
    }
    if (iocph_socket_send(c->socket, c->buffer, (uint32_t)result, 0, (uint64_t)(uintptr_t)c | 2u, NULL) != 0)
        close_connection(c);
}

static void on_completions(void *context, const iocph_completion *entries, uint32_t count)
{
    (void)context;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t tag = entries[i].user_data;
        if (tag & TAG_ACCEPT)
            on_accepted((accept_slot *)(uintptr_t)(tag & ~(uint64_t)3), entries[i].result);
        else
            on_connection((connection *)(uintptr_t)(tag & ~(uint64_t)3), entries[i].result,
                          (int)(tag & 2u));
    }
}

#ifdef _WIN32
static BOOL WINAPI on_console_event(DWORD event)
{
    (void)event;
    stop_requested = 1;
    return TRUE;
}
#else
static void on_signal(int signal_number)
{
    (void)signal_number;
    stop_requested = 1;
}
#endif

static int parse_endpoint(const char *address, unsigned port, iocph_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    ep->port = (uint16_t)port;
    if (inet_pton(AF_INET, address, ep->address) == 1) {
        ep->family = IOCPH_AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, address, ep->address) == 1) {
        ep->family = IOCPH_AF_INET6;
        return 0;
    }
    return -1;
}

static void format_endpoint(const iocph_endpoint *ep, char *text, size_t size)
{
    char address[64] = "?";
    if (ep->family == IOCPH_AF_INET) {
        inet_ntop(AF_INET, ep->address, address, sizeof address);
        snprintf(text, size, "%s:%u", address, ep->port);
    } else {
        inet_ntop(AF_INET6, ep->address, address, sizeof address);
        snprintf(text, size, "[%s]:%u", address, ep->port);
    }
}

static int fail(const char *what, int32_t status)
{
    fprintf(stderr, "echo_server: %s: %s\n", what, iocph_status_message(status));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: echo_server <port> [address]\n");
        return 2;
    }
    char *end;
    unsigned long port_number = strtoul(argv[1], &end, 10);
#ifdef _WIN32
    WSADATA wsa; /* inet_pton / inet_ntop need Winsock started in this program too */
    WSAStartup(MAKEWORD(2, 2), &wsa);
#endif
    iocph_endpoint local;
    if (*end || port_number > 65535 || parse_endpoint(argc == 3 ? argv[2] : "127.0.0.1",
                                                      (unsigned)port_number, &local) != 0) {
        fprintf(stderr, "echo_server: bad port or address\n");
        return 2;
    }

    iocph_port_options options;
    iocph_port_options_init(&options);
    options.callback = on_completions;
    iocph_port_t port;
    int32_t rc = iocph_port_create(&options, &port);
    if (rc != 0)
        return fail("creating the port", rc);
    rc = iocph_tcp_listen(port, &local, 0, IOCPH_SOCKET_REUSE_ADDRESS, 0, &listener);
    if (rc != 0)
        return fail("listening", rc);

#ifdef _WIN32
    SetConsoleCtrlHandler(on_console_event, TRUE);
#else
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
#endif
    for (int i = 0; i < ACCEPTS_OUTSTANDING; i++)
        post_accept(&accept_slots[i]);

    iocph_endpoint bound;
    iocph_socket_get_endpoint(listener, IOCPH_ENDPOINT_LOCAL, &bound);
    char text[96];
    format_endpoint(&bound, text, sizeof text);
    int32_t backend = 0;
    iocph_port_get_backend(port, &backend);
    printf("listening on %s\n", text);
    fflush(stdout);
    fprintf(stderr, "echo_server: backend %s; Ctrl+C stops\n", iocph_backend_name(backend));

    while (!stop_requested)
        sleep_ms(100);

    /* Graceful: every accept and connection operation completes (cancelled) through the
     * callback, which closes and frees each connection; then the workers are joined. */
    rc = iocph_port_shutdown(port, 10000);
    iocph_handle_close(listener);
    iocph_port_stats stats = {.size = sizeof stats};
    iocph_port_get_stats(port, &stats);
    fprintf(stderr, "echo_server: shut down (%s); %llu completions delivered, %ld connections left\n",
            rc == 0 ? "clean" : iocph_status_message(rc),
            (unsigned long long)stats.completions_delivered, atomic_load(&connections_open));
    iocph_port_destroy(port);
    return rc == 0 ? 0 : 1;
}
