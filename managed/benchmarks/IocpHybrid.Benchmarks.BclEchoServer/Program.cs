// The echo server of managed/samples/EchoServer on System.Net.Sockets: the baseline of the TCP echo
// benchmark. Keep the two in step: same accept loop, same echo loop, same buffer, same shutdown.
// Usage: IocpHybrid.Benchmarks.BclEchoServer <port> [address]
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

if (!TryParse(args, out int portNumber, out IPAddress address))
{
    Console.Error.WriteLine("usage: IocpHybrid.Benchmarks.BclEchoServer <port> [address]   (address: 127.0.0.1 by default)");
    return 2;
}

using var stop = new CancellationTokenSource();
using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
try
{
    // As the sample's ListenTcp(backlog: 0, reuseAddress: true): SO_REUSEADDR, the system's maximum backlog.
    listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
    listener.Bind(new IPEndPoint(address, portNumber));
    listener.Listen();
}
catch (SocketException ex)
{
    Console.Error.WriteLine($"cannot listen on {address}:{portNumber}: {ex.Message}");
    listener.Dispose();
    return 1;
}

var connections = new ConnectionSet();
using (listener)
{
    Console.WriteLine($"listening on {listener.LocalEndPoint}");
    Console.Out.Flush();
    while (!stop.IsCancellationRequested)
    {
        Socket connection;
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

// Graceful: ends every echo loop (their receives are cancelled) and waits for them.
await connections.WhenAllAsync();
Console.WriteLine("stopped");
return 0;

void OnSignal(PosixSignalContext context)
{
    context.Cancel = true; // shut down ourselves instead of the runtime's default termination
    stop.Cancel();
}

static bool TryParse(string[] args, out int port, out IPAddress address)
{
    port = 0;
    address = IPAddress.Loopback;
    if (args.Length is < 1 or > 2 || !int.TryParse(args[0], out port) || port is < 0 or > 65535)
    {
        return false;
    }

    return args.Length == 1 || IPAddress.TryParse(args[1], out address!);
}

/// <summary>The echo loops running, so shutdown can wait for them.</summary>
internal sealed class ConnectionSet
{
    private readonly Lock _lock = new();
    private readonly HashSet<Task> _running = [];

    public void Start(Socket connection, CancellationToken stop)
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

    private static async Task EchoAsync(Socket connection, CancellationToken stop)
    {
        using (connection)
        {
            byte[] buffer = new byte[64 * 1024]; // as native/examples/echo_server.c
            try
            {
                connection.NoDelay = true;
                while (true)
                {
                    int received = await connection.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, stop);
                    if (received == 0)
                    {
                        break; // the client closed its side
                    }

                    // On a stream socket SendAsync completes once every byte is sent, as the sample's.
                    await connection.SendAsync(buffer.AsMemory(0, received), SocketFlags.None, stop);
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
