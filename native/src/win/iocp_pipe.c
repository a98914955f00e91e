/* Pipes: anonymous pipes cannot do overlapped I/O, so a pipe is a uniquely named, single-instance,
 * inbound named pipe (the read end) with one overlapped client (the write end). */
#include "iocp_internal.h"

#include <stdio.h>

#define PIPE_BUFFER 65536u
/* Name collisions only come from a stale pipe of an earlier process with the same id. */
#define NAME_ATTEMPTS 16

static _Atomic uint32_t pipe_counter;

/* The client is already connected when this runs: ConnectNamedPipe then reports
 * ERROR_PIPE_CONNECTED at once. It still needs an OVERLAPPED (the handle is overlapped); the
 * handle is not yet attached to the port, so no packet is queued for it. */
static int32_t confirm_connected(HANDLE server)
{
    OVERLAPPED ov = {0};
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov.hEvent)
        return iocph__map_win32(GetLastError());
    DWORD error = 0;
    if (!ConnectNamedPipe(server, &ov)) {
        error = GetLastError();
        DWORD ignored;
        if (error == ERROR_IO_PENDING)
            error = GetOverlappedResult(server, &ov, &ignored, TRUE) ? 0 : GetLastError();
        else if (error == ERROR_PIPE_CONNECTED)
            error = 0;
    }
    CloseHandle(ov.hEvent);
    return error ? iocph__map_win32(error) : IOCPH_OK;
}

int32_t iocph__win_pipe_create(iocph__port *port, intptr_t *read_os, intptr_t *write_os)
{
    (void)port;
    DWORD error = ERROR_PIPE_BUSY;
    for (int attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
        char name[80];
        snprintf(name, sizeof name, "\\\\.\\pipe\\iocphybrid-%lu-%lu",
                 (unsigned long)GetCurrentProcessId(),
                 (unsigned long)atomic_fetch_add_explicit(&pipe_counter, 1, memory_order_relaxed));
        /* FIRST_PIPE_INSTANCE + one instance: nobody else can own or open this name twice. */
        HANDLE server = CreateNamedPipeA(
            name, PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
            PIPE_BUFFER, PIPE_BUFFER, 0, NULL);
        if (server == INVALID_HANDLE_VALUE) {
            error = GetLastError();
            if (error == ERROR_ACCESS_DENIED || error == ERROR_PIPE_BUSY)
                continue; /* the name is taken */
            return iocph__map_win32(error);
        }
        HANDLE client = CreateFileA(name, GENERIC_WRITE | FILE_READ_ATTRIBUTES, 0, NULL,
                                    OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
        if (client == INVALID_HANDLE_VALUE) {
            error = GetLastError();
            CloseHandle(server);
            if (error == ERROR_PIPE_BUSY)
                continue; /* someone else connected first: try a fresh name */
            return iocph__map_win32(error);
        }
        int32_t rc = confirm_connected(server);
        if (rc < 0) {
            CloseHandle(client);
            CloseHandle(server);
            return rc;
        }
        *read_os = (intptr_t)server;
        *write_os = (intptr_t)client;
        return IOCPH_OK;
    }
    return iocph__map_win32(error);
}
