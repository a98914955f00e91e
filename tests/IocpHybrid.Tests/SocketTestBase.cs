using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

/// <summary>
/// A port per test; at the end every test must leave no operation in flight and no handle open
/// (handles close asynchronously on io_uring, hence the wait).
/// </summary>
public abstract class SocketTestBase : IAsyncLifetime
{
    protected SocketTestBase()
        : this(new CompletionPortOptions())
    {
    }

    protected SocketTestBase(CompletionPortOptions options)
    {
        Port = new CompletionPort(options);
    }

    protected CompletionPort Port { get; }

    public static bool IPv6LoopbackAvailable { get; } = ProbeIPv6();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        try
        {
            await TestSupport.Eventually(
                () =>
                {
                    PortStatistics s = Port.GetStatistics();
                    return s.OperationsInFlight == 0 && s.HandlesOpen == 0;
                },
                "no operation in flight and no handle open");
        }
        finally
        {
            await Port.DisposeAsync().Within();
        }
    }

    /// <summary>A listener on loopback, a connection to it and the accepted side.</summary>
    protected async Task<(PortTcpListener Listener, PortTcpConnection Client, PortTcpConnection Server)> ConnectPairAsync(IPAddress? address = null)
    {
        PortTcpListener listener = Port.ListenTcp(new IPEndPoint(address ?? IPAddress.Loopback, 0));
        ValueTask<PortTcpConnection> accept = listener.AcceptAsync();
        PortTcpConnection client = await PortTcpConnection.ConnectAsync(Port, listener.LocalEndPoint).Within();
        PortTcpConnection server = await accept.Within();
        return (listener, client, server);
    }

    protected static async Task ReceiveExactlyAsync(PortTcpConnection connection, Memory<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await connection.ReceiveAsync(buffer[total..]).Within();
            Assert.True(n > 0, $"the peer closed after {total} of {buffer.Length} bytes");
            total += n;
        }
    }

    protected static async Task<byte[]> ReceiveToEndAsync(PortTcpConnection connection)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int n = await connection.ReceiveAsync(buffer).Within();
            if (n == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, n);
        }
    }

    private static bool ProbeIPv6()
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
