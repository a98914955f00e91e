using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

public sealed class TcpCancellationTests : SocketTestBase
{
    [Fact]
    public async Task AcceptCancelledByToken()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        using var cts = new CancellationTokenSource();
        ValueTask<PortTcpConnection> accept = listener.AcceptAsync(cts.Token);
        await Task.Delay(50);
        cts.Cancel();
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => accept.AsTask().Within());
        Assert.Equal(cts.Token, ex.CancellationToken);

        // The listener still works.
        ValueTask<PortTcpConnection> next = listener.AcceptAsync();
        using var client = await PortTcpConnection.ConnectAsync(Port, listener.LocalEndPoint).Within();
        using var server = await next.Within();
    }

    [Fact]
    public async Task AcceptWithACancelledTokenFailsAtOnce()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listener.AcceptAsync(new CancellationToken(true)).AsTask().Within());
        Assert.True(ex.CancellationToken.IsCancellationRequested);
    }

    [Fact]
    public async Task AcceptTimesOut()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        listener.AcceptTimeout = 100;
        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<SocketException>(() => listener.AcceptAsync().AsTask().Within());
        Assert.Equal(SocketError.TimedOut, ex.SocketErrorCode);
        Assert.True(clock.ElapsedMilliseconds >= 80, $"timed out after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task ReceiveCancelledByTokenThenTheConnectionStillWorks()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            using var cts = new CancellationTokenSource();
            ValueTask<int> receive = client.ReceiveAsync(new byte[10].AsMemory(), cts.Token);
            await Task.Delay(50);
            cts.Cancel();
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.AsTask().Within());
            Assert.Equal(cts.Token, ex.CancellationToken);

            await server.SendAsync(new byte[] { 42 }).Within();
            var buffer = new byte[1];
            Assert.Equal(1, await client.ReceiveAsync(buffer).Within());
            Assert.Equal(42, buffer[0]);
        }
    }

    [Fact]
    public async Task ReceiveTimesOut()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            client.ReceiveTimeout = 100;
            var clock = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<SocketException>(() => client.ReceiveAsync(new byte[10]).Within());
            Assert.Equal(SocketError.TimedOut, ex.SocketErrorCode);
            Assert.True(clock.ElapsedMilliseconds >= 80, $"timed out after {clock.ElapsedMilliseconds} ms");

            // A timeout that does not fire.
            client.ReceiveTimeout = 30_000;
            ValueTask<int> receive = client.ReceiveAsync(new byte[10].AsMemory());
            await server.SendAsync(new byte[] { 1 }).Within();
            Assert.Equal(1, await receive.Within());
        }
    }

    [Fact]
    public async Task ConnectCancelledByTokenAndByTimeout()
    {
        // A listener with a full backlog that never accepts: further connects wait (Linux drops the
        // SYN). Where the OS refuses at once instead (Windows resets), there is nothing to cancel.
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), backlog: 1);
        var fillers = new List<PortTcpConnection>();
        try
        {
            for (int attempt = 0; attempt < 16; attempt++)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                PortTcpConnection? connected = null;
                try
                {
                    connected = await PortTcpConnection.ConnectAsync(Port, listener.LocalEndPoint, cts.Token).Within();
                }
                catch (OperationCanceledException ex)
                {
                    Assert.Equal(cts.Token, ex.CancellationToken);

                    // The same wait ends by the native timeout instead.
                    var clock = Stopwatch.StartNew();
                    var timeout = await Assert.ThrowsAsync<SocketException>(() =>
                        PortTcpConnection.ConnectAsync(Port, listener.LocalEndPoint, TimeSpan.FromMilliseconds(200)).AsTask().Within());
                    Assert.Equal(SocketError.TimedOut, timeout.SocketErrorCode);
                    Assert.True(clock.ElapsedMilliseconds >= 150, $"timed out after {clock.ElapsedMilliseconds} ms");
                    return;
                }
                catch (SocketException)
                {
                    return; // refused at once: this OS answers a full backlog with a reset
                }

                fillers.Add(connected);
            }
        }
        finally
        {
            foreach (PortTcpConnection filler in fillers)
            {
                filler.Dispose();
            }
        }
    }
}
