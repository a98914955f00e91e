// A TCP echo server on IocpHybrid: one completion port, one accept loop, one echo loop per connection.
// Usage: EchoServer <port> [address] [--inline]
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using IocpHybrid;

if (!TryParse(args, out int portNumber, out IPAddress address, out bool inline))
{
    Console.Error.WriteLine("usage: EchoServer <port> [address] [--inline]   (address: 127.0.0.1 by default)");
    return 2;
}

using var stop = new CancellationTokenSource();
using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline });
PortTcpListener listener;
try
{
    listener = port.ListenTcp(new IPEndPoint(address, portNumber), backlog: 0, reuseAddress: true);
}
catch (SocketException ex)
{
    Console.Error.WriteLine($"cannot listen on {address}:{portNumber}: {ex.Message}");
    return 1;
}

var connections = new ConnectionSet();
using (listener)
{
    Console.WriteLine($"listening on {listener.LocalEndPoint}");
    Console.Out.Flush();
    while (!stop.IsCancellationRequested)
    {
        PortTcpConnection connection;
        try
        {
            connection = await listener.AcceptAsync(stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            break;
        }
        catch (SocketException ex)
        {
            Console.Error.WriteLine($"accept failed: {ex.Message}");
            continue;
        }

        connections.Start(connection, stop.Token);
    }
}

// Graceful: ends every echo loop (their receives are cancelled) and waits for them, then the port shuts down.
await connections.WhenAllAsync();
Console.WriteLine("stopped");
return 0;

void OnSignal(PosixSignalContext context)
{
    context.Cancel = true; // shut down ourselves instead of the runtime's default termination
    stop.Cancel();
}

static bool TryParse(string[] args, out int port, out IPAddress address, out bool inline)
{
    port = 0;
    address = IPAddress.Loopback;
    inline = false;
    var positional = new List<string>();
    foreach (string arg in args)
    {
        if (arg == "--inline")
        {
            inline = true;
        }
        else
        {
            positional.Add(arg);
        }
    }

    if (positional.Count is < 1 or > 2 || !int.TryParse(positional[0], out port) || port is < 0 or > 65535)
    {
        return false;
    }

    return positional.Count == 1 || IPAddress.TryParse(positional[1], out address!);
}

/// <summary>The echo loops running, so shutdown can wait for them.</summary>
internal sealed class ConnectionSet
{
    private readonly Lock _lock = new();
    private readonly HashSet<Task> _running = [];

    public void Start(PortTcpConnection connection, CancellationToken stop)
    {
        Task task = EchoAsync(connection, stop);
        lock (_lock)
        {
            if (!task.IsCompleted)
            {
                _running.Add(task);
            }
        }

        _ = task.ContinueWith(
            (t, state) =>
            {
                var set = (ConnectionSet)state!;
                lock (set._lock)
                {
                    set._running.Remove(t);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    public Task WhenAllAsync()
    {
        lock (_lock)
        {
            return Task.WhenAll([.. _running]);
        }
    }

    private static async Task EchoAsync(PortTcpConnection connection, CancellationToken stop)
    {
        using (connection)
        {
            byte[] buffer = new byte[64 * 1024]; // as native/examples/echo_server.c
            try
            {
                connection.NoDelay = true;
                while (true)
                {
                    int received = await connection.ReceiveAsync(buffer.AsMemory(), stop);
                    if (received == 0)
                    {
                        break; // the client closed its side
                    }

                    await connection.SendAsync(buffer.AsMemory(0, received), stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            catch (SocketException)
            {
                // The client reset or went away: just drop the connection.
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
