using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

public sealed class TcpErrorTests : SocketTestBase
{
    [Fact]
    public async Task ConnectToAClosedPortIsRefused()
    {
        int port;
        using (var probe = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            port = probe.LocalEndPoint.Port;
        }

        await TestSupport.Eventually(() => Port.GetStatistics().HandlesOpen == 0, "the probe listener closed");
        var ex = await Assert.ThrowsAsync<SocketException>(() => PortTcpConnection.ConnectAsync(Port, new IPEndPoint(IPAddress.Loopback, port)).AsTask().Within());
        Assert.Equal(SocketError.ConnectionRefused, ex.SocketErrorCode);
    }

    [Fact]
    public async Task ListeningOnAnAddressInUseFails()
    {
        using var first = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        var ex = Assert.Throws<SocketException>(() => Port.ListenTcp(first.LocalEndPoint));
        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
    }

    [Fact]
    public async Task ListeningOnAForeignAddressFails()
    {
        // 192.0.2.1 (TEST-NET-1) is assigned to no interface here.
        var ex = Assert.Throws<SocketException>(() => Port.ListenTcp(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 0)));
        Assert.Equal(SocketError.AddressNotAvailable, ex.SocketErrorCode);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task PeerResetDuringAReceive()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            ValueTask<int> receive = client.ReceiveAsync(new byte[100].AsMemory());
            await Task.Delay(50);
            server.LingerState = new LingerOption(true, 0); // close with a reset
            server.Dispose();
            var ex = await Assert.ThrowsAsync<SocketException>(() => receive.AsTask().Within());
            Assert.True(
                ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted,
                $"expected a reset, got {ex.SocketErrorCode}: {ex.Message}");
        }
    }

    [Fact]
    public async Task SendAfterShutdownFails()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, await server.ReceiveAsync(new byte[10]).Within());
            var ex = await Assert.ThrowsAsync<SocketException>(() => client.SendAsync(new byte[10]).Within());
            Assert.Equal(SocketError.Shutdown, ex.SocketErrorCode);

            // Receiving still works after a half-close.
            await server.SendAsync(new byte[] { 1, 2, 3 }).Within();
            var buffer = new byte[3];
            await ReceiveExactlyAsync(client, buffer);
            Assert.Equal(new byte[] { 1, 2, 3 }, buffer);
        }
    }

    [Fact]
    public async Task DisposeWithAPendingReceiveEndsItWithObjectDisposed()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (server)
        {
            ValueTask<int> receive = client.ReceiveAsync(new byte[100].AsMemory());
            await Task.Delay(50);
            client.Dispose();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => receive.AsTask().Within());
            Assert.Throws<ObjectDisposedException>(() => { _ = client.ReceiveAsync(new byte[1].AsMemory()); });
            Assert.Throws<ObjectDisposedException>(() => client.NoDelay = true);
            Assert.Equal(0, await server.ReceiveAsync(new byte[10]).Within());
        }
    }

    [Fact]
    public async Task DisposingTheListenerEndsPendingAccepts()
    {
        var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        using var cts = new CancellationTokenSource();
        ValueTask<PortTcpConnection> first = listener.AcceptAsync();
        ValueTask<PortTcpConnection> second = listener.AcceptAsync(cts.Token);
        await Task.Delay(50);
        listener.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => first.AsTask().Within());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => second.AsTask().Within());
        Assert.Throws<ObjectDisposedException>(() => listener.AcceptAsync());
    }

    [Fact]
    public async Task DisposingThePortEndsEverything()
    {
        var port = new CompletionPort();
        var listener = port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        ValueTask<PortTcpConnection> accept = listener.AcceptAsync();
        var client = await PortTcpConnection.ConnectAsync(port, listener.LocalEndPoint).Within();
        var server = await accept.Within();
        ValueTask<int> receive = server.ReceiveAsync(new byte[10].AsMemory());
        ValueTask<PortTcpConnection> accept2 = listener.AcceptAsync();
        await port.DisposeAsync().Within();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => receive.AsTask().Within());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => accept2.AsTask().Within());
        Assert.Throws<ObjectDisposedException>(() => { _ = client.SendAsync(new byte[1].AsMemory()); });
        client.Dispose();
        server.Dispose();
        listener.Dispose();
    }
}
