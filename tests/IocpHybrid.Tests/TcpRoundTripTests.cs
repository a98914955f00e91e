using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

public sealed class TcpRoundTripTests : SocketTestBase
{
    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(4096)]
    [InlineData(65_537)]
    [InlineData(1024 * 1024)]
    public async Task BytesSentArriveInOrderAndCloseEndsTheStream(int length)
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            byte[] data = TestSupport.RandomBytes(length, seed: length);
            Task<byte[]> receiving = ReceiveToEndAsync(server);
            Assert.Equal(length, await client.SendAsync(data.AsMemory()).Within());
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(data, await receiving.Within());

            // And back the other way, then the server closes its side in order.
            Task<byte[]> back = ReceiveToEndAsync(client);
            Assert.Equal(length, await server.SendAsync(data).Within());
            server.Shutdown(SocketShutdown.Send);
            Assert.Equal(data, await back.Within());
        }
    }

    [Fact(Skip = "::1 is not available here", SkipUnless = nameof(IPv6LoopbackAvailable))]
    public async Task IPv6LoopbackRoundTrip()
    {
        var (listener, client, server) = await ConnectPairAsync(IPAddress.IPv6Loopback);
        using (listener)
        using (client)
        using (server)
        {
            Assert.Equal(AddressFamily.InterNetworkV6, listener.LocalEndPoint.AddressFamily);
            Assert.Equal(IPAddress.IPv6Loopback, client.RemoteEndPoint.Address);
            Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
            byte[] data = TestSupport.RandomBytes(300_000, seed: 6);
            Task<byte[]> receiving = ReceiveToEndAsync(server);
            await client.SendAsync(data.AsMemory()).Within();
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(data, await receiving.Within());
        }
    }

    [Fact]
    public async Task EndpointsMatchOnBothSides()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            Assert.NotEqual(0, listener.LocalEndPoint.Port);
            Assert.Equal(listener.LocalEndPoint, client.RemoteEndPoint);
            Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
            Assert.Equal(server.LocalEndPoint, client.RemoteEndPoint);
        }
    }

    [Fact]
    public async Task OptionsCanBeSetAndRead()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            client.NoDelay = true;
            Assert.True(client.NoDelay);
            client.NoDelay = false;
            Assert.False(client.NoDelay);
            client.KeepAlive = true;
            Assert.True(client.KeepAlive);
            client.SendBufferSize = 64 * 1024;
            Assert.True(client.SendBufferSize >= 64 * 1024);
            client.ReceiveBufferSize = 32 * 1024;
            Assert.True(client.ReceiveBufferSize >= 32 * 1024);
            Assert.False(client.LingerState.Enabled);
            client.LingerState = new LingerOption(true, 5);
            Assert.True(client.LingerState.Enabled);
            Assert.Equal(5, client.LingerState.LingerTime);
            client.LingerState = new LingerOption(false, 0);
            Assert.False(client.LingerState.Enabled);
        }
    }

    [Fact]
    public async Task GatherSendOfASequenceWithManySegments()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            // 40 segments: more than IOCPH_MAX_BUFFERS, so several native gather sends.
            byte[] data = TestSupport.RandomBytes(40 * 1000, seed: 40);
            ReadOnlySequence<byte> sequence = Segments.Build(data, 1000);
            Assert.False(sequence.IsSingleSegment);
            Task<byte[]> receiving = ReceiveToEndAsync(server);
            await client.SendAsync(sequence).Within();
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(data, await receiving.Within());
        }
    }

    [Fact]
    public async Task GatherSendOfASegmentList()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            byte[] data = TestSupport.RandomBytes(20_000, seed: 41);
            var list = new List<ArraySegment<byte>>();
            for (int offset = 0; offset < data.Length; offset += 500)
            {
                list.Add(new ArraySegment<byte>(data, offset, 500));
            }

            list.Insert(3, new ArraySegment<byte>(data, 0, 0)); // empty segments are skipped
            Task<byte[]> receiving = ReceiveToEndAsync(server);
            Assert.Equal(data.Length, await client.SendAsync(list).Within());
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(data, await receiving.Within());
        }
    }

    [Fact]
    public async Task ArrayOverloads()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            Assert.Equal(3, await client.SendAsync([9, 1, 2, 3, 9], 1, 3).Within());
            var buffer = new byte[5];
            await ReceiveExactlyAsync(server, buffer.AsMemory(2, 3));
            Assert.Equal(new byte[] { 0, 0, 1, 2, 3 }, buffer);
            Assert.Equal(2, await server.SendAsync(new byte[] { 7, 8 }).Within());
            var two = new byte[2];
            int n = await client.ReceiveAsync(two).Within();
            if (n == 1)
            {
                n += await client.ReceiveAsync(two, 1, 1).Within();
            }

            Assert.Equal(new byte[] { 7, 8 }, two);
        }
    }

    [Fact]
    public async Task ConnectToADnsEndPoint()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        ValueTask<PortTcpConnection> accept = listener.AcceptAsync();
        using var client = await Port.ConnectTcpAsync(new DnsEndPoint("localhost", listener.LocalEndPoint.Port, AddressFamily.InterNetwork)).Within();
        using var server = await accept.Within();
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
    }
}

/// <summary>Builds multi-segment sequences.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Build(byte[] data, int segmentLength)
    {
        var first = new Segments(data.AsMemory(0, Math.Min(segmentLength, data.Length)), 0);
        Segments last = first;
        for (int offset = segmentLength; offset < data.Length; offset += segmentLength)
        {
            var next = new Segments(data.AsMemory(offset, Math.Min(segmentLength, data.Length - offset)), offset);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
