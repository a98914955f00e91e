using System.Net;
using System.Net.Sockets;
using IocpHybrid;

namespace IocpHybrid.Demo;

/// <summary>
/// The demo's network half: a few hundred concurrent IocpHybrid clients exchange messages of many
/// sizes with an echo server (in-process on the same port, or an external one such as
/// native/examples/echo_server or managed/samples/EchoServer) and verify every byte that comes back.
/// Every tenth client is a System.Net.Sockets socket, so each server also serves BCL clients.
/// </summary>
internal sealed class EchoRun
{
    /// <summary>Message sizes each client sends once per round: 1 B up to 256 KiB.</summary>
    public static readonly int[] MessageSizes = [1, 7, 64, 512, 1500, 4096, 16384, 65536, 262144];

    private readonly CompletionPort _port;
    private long _messagesDone;
    private long _bytesDone;

    public EchoRun(CompletionPort port) => _port = port;

    public long MessagesDone => Interlocked.Read(ref _messagesDone);

    public long BytesDone => Interlocked.Read(ref _bytesDone);

    /// <summary>Starts the in-process server: an accept loop and one echo loop per connection.</summary>
    public PortTcpListener StartServer(CancellationToken stop, out Task serverTask)
    {
        PortTcpListener listener = _port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), backlog: 0, reuseAddress: true);
        serverTask = AcceptLoopAsync(listener, stop);
        return listener;
    }

    private static async Task AcceptLoopAsync(PortTcpListener listener, CancellationToken stop)
    {
        var echoes = new List<Task>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                PortTcpConnection connection = await listener.AcceptAsync(stop);
                connection.NoDelay = true;
                echoes.Add(EchoAsync(connection));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        await Task.WhenAll(echoes);
    }

    private static async Task EchoAsync(PortTcpConnection connection)
    {
        using (connection)
        {
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await connection.ReceiveAsync(buffer.AsMemory())) > 0)
            {
                await connection.SendAsync(buffer.AsMemory(0, n));
            }
        }
    }

    /// <summary>Runs <paramref name="clients"/> clients of <paramref name="rounds"/> rounds; returns the mismatches seen.</summary>
    public async Task<int> RunClientsAsync(EndPoint server, int clients, int rounds)
    {
        var tasks = new Task<int>[clients];
        for (int i = 0; i < clients; i++)
        {
            tasks[i] = ClientAsync(server, i, rounds);
        }

        int[] mismatches = await Task.WhenAll(tasks);
        return mismatches.Sum();
    }

    private async Task<int> ClientAsync(EndPoint server, int client, int rounds)
    {
        // Every tenth client is a plain System.Net.Sockets socket: the servers must serve the BCL too.
        if (client % 10 == 9)
        {
            using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(server);
            int bclMismatches = await ExchangeAsync(
                client, rounds,
                (m) => socket.SendAsync(m, SocketFlags.None),
                (m) => socket.ReceiveAsync(m, SocketFlags.None));
            socket.Shutdown(SocketShutdown.Send);
            return bclMismatches;
        }

        using PortTcpConnection connection = await _port.ConnectTcpAsync(server);
        connection.NoDelay = true;
        int mismatches = await ExchangeAsync(
            client, rounds,
            (m) => connection.SendAsync(m),
            (m) => connection.ReceiveAsync(m));
        connection.Shutdown(SocketShutdown.Send);
        return mismatches;
    }

    private async Task<int> ExchangeAsync(
        int client, int rounds, Func<ReadOnlyMemory<byte>, ValueTask<int>> sendAsync, Func<Memory<byte>, ValueTask<int>> receiveAsync)
    {
        int largest = MessageSizes.Max();
        var sent = new byte[largest];
        var received = new byte[largest];
        int mismatches = 0;
        for (int round = 0; round < rounds; round++)
        {
            foreach (int size in MessageSizes)
            {
                Fill(sent.AsSpan(0, size), client, round, size);
                // Send and receive at once: a large message must not wait for its own echo to be
                // drained by a client that is still sending (both socket buffers would fill up).
                Task<int> send = SendAllAsync(sendAsync, sent.AsMemory(0, size));
                int got = 0;
                while (got < size)
                {
                    int n = await receiveAsync(received.AsMemory(got, size - got));
                    if (n == 0)
                    {
                        throw new IOException($"client {client}: the server closed the connection after {got} of {size} bytes");
                    }

                    got += n;
                }

                await send;
                if (!received.AsSpan(0, size).SequenceEqual(sent.AsSpan(0, size)))
                {
                    mismatches++;
                }

                Interlocked.Increment(ref _messagesDone);
                Interlocked.Add(ref _bytesDone, size);
            }
        }

        return mismatches;
    }

    // IocpHybrid sends everything in one call; a BCL socket may report fewer bytes.
    private static async Task<int> SendAllAsync(Func<ReadOnlyMemory<byte>, ValueTask<int>> sendAsync, ReadOnlyMemory<byte> data)
    {
        int sent = 0;
        while (sent < data.Length)
        {
            sent += await sendAsync(data[sent..]);
        }

        return sent;
    }

    /// <summary>A pattern that differs per client, round and size, so a misrouted echo is caught.</summary>
    internal static void Fill(Span<byte> span, int client, int round, int size)
    {
        uint state = (uint)(client * 7919 + round * 104729 + size) | 1u;
        for (int i = 0; i < span.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            span[i] = (byte)state;
        }
    }
}
