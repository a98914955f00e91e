using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

public sealed class UdpTests : SocketTestBase
{
    [Fact]
    public async Task DatagramsCarryTheirSender()
    {
        using var a = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        using var b = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        var buffer = new byte[100];
        ValueTask<PortReceiveFromResult> receive = b.ReceiveFromAsync(buffer);
        Assert.Equal(5, await a.SendToAsync(new byte[] { 1, 2, 3, 4, 5 }, b.LocalEndPoint).Within());
        PortReceiveFromResult result = await receive.Within();
        Assert.Equal(5, result.ReceivedBytes);
        Assert.False(result.Truncated);
        Assert.Equal(a.LocalEndPoint, result.RemoteEndPoint);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, buffer[..5]);
    }

    [Fact]
    public async Task ALongerDatagramIsTruncated()
    {
        using var a = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        using var b = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        byte[] data = TestSupport.RandomBytes(1000, seed: 3);
        await a.SendToAsync(data, b.LocalEndPoint).Within();
        var buffer = new byte[100];
        PortReceiveFromResult result = await b.ReceiveFromAsync(buffer).Within();
        Assert.Equal(100, result.ReceivedBytes);
        Assert.True(result.Truncated);
        Assert.Equal(data[..100], buffer);

        // The rest was discarded: the next datagram is the next one.
        await a.SendToAsync(new byte[] { 9 }, b.LocalEndPoint).Within();
        result = await b.ReceiveFromAsync(buffer).Within();
        Assert.Equal(1, result.ReceivedBytes);
        Assert.False(result.Truncated);
    }

    [Fact]
    public async Task SocketAddressFormsRoundTrip()
    {
        using var a = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        using var b = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        SocketAddress target = b.LocalEndPoint.Serialize();
        var from = new SocketAddress(AddressFamily.InterNetwork);
        var buffer = new byte[16];
        for (int i = 0; i < 3; i++)
        {
            ValueTask<PortReceiveResult> receive = b.ReceiveFromAsync(buffer, from);
            await a.SendToAsync(new byte[] { (byte)i, 7 }, target).Within();
            PortReceiveResult result = await receive.Within();
            Assert.Equal(2, result.ReceivedBytes);
            Assert.False(result.Truncated);
            Assert.Equal(a.LocalEndPoint, (IPEndPoint)a.LocalEndPoint.Create(from));
            Assert.Equal(i, buffer[0]);
        }
    }

    [Fact]
    public async Task ATooLargeDatagramFailsWithMessageSize()
    {
        using var a = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        var ex = await Assert.ThrowsAsync<SocketException>(() => a.SendToAsync(new byte[70_000], a.LocalEndPoint).AsTask().Within());
        Assert.Equal(SocketError.MessageSize, ex.SocketErrorCode);
    }

    [Fact]
    public async Task ReceiveCancelledByTokenTimeoutAndDispose()
    {
        var a = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        using var cts = new CancellationTokenSource();
        ValueTask<PortReceiveFromResult> receive = a.ReceiveFromAsync(new byte[10], cts.Token);
        await Task.Delay(30);
        cts.Cancel();
        var canceled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => receive.AsTask().Within());
        Assert.Equal(cts.Token, canceled.CancellationToken);

        a.ReceiveTimeout = 100;
        var timedOut = await Assert.ThrowsAsync<SocketException>(() => a.ReceiveFromAsync(new byte[10]).AsTask().Within());
        Assert.Equal(SocketError.TimedOut, timedOut.SocketErrorCode);

        a.ReceiveTimeout = 0;
        receive = a.ReceiveFromAsync(new byte[10]);
        await Task.Delay(30);
        a.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => receive.AsTask().Within());
    }

    [Fact]
    public async Task InteroperatesWithSystemNetSockets()
    {
        using var ours = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        using var theirs = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        theirs.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        await theirs.SendToAsync(new byte[] { 1, 2, 3 }, ours.LocalEndPoint).Within();
        var buffer = new byte[10];
        PortReceiveFromResult got = await ours.ReceiveFromAsync(buffer).Within();
        Assert.Equal(3, got.ReceivedBytes);
        Assert.Equal(theirs.LocalEndPoint, got.RemoteEndPoint);

        await ours.SendToAsync(new byte[] { 4, 5 }, got.RemoteEndPoint).Within();
        SocketReceiveFromResult back = await theirs.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0)).Within();
        Assert.Equal(2, back.ReceivedBytes);
        Assert.Equal(ours.LocalEndPoint, back.RemoteEndPoint);
    }

    [Fact(Skip = "::1 is not available here", SkipUnless = nameof(IPv6LoopbackAvailable))]
    public async Task IPv6Datagrams()
    {
        using var a = Port.BindUdp(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        using var b = Port.BindUdp(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        var from = new SocketAddress(AddressFamily.InterNetworkV6);
        ValueTask<PortReceiveResult> receive = b.ReceiveFromAsync(new byte[10], from);
        await a.SendToAsync(new byte[] { 1 }, b.LocalEndPoint).Within();
        Assert.Equal(1, (await receive.Within()).ReceivedBytes);
        Assert.Equal(a.LocalEndPoint, (IPEndPoint)a.LocalEndPoint.Create(from));
    }
}
