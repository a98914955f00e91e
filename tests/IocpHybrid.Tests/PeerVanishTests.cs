using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

/// <summary>
/// The peer vanishes mid-transfer: a TCP peer that resets (linger 0) or closes while large sends and
/// receives are pending, a pipe end closed while the other end has a transfer pending, a UDP peer that is
/// gone. Each pending operation ends exactly once (its task completes once by construction: here, that
/// it completes at all, with bytes or the connection error users catch), and nothing hangs.
/// </summary>
public sealed class PeerVanishTests : SocketTestBase
{
    private const int Big = 16 << 20; // more than loopback's socket buffers: the sends stay pending

    private static bool IsConnectionError(Exception ex) =>
        ex is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TcpPeerGoneWhileSendsAndReceivesArePending(bool reset)
    {
        var (listener, client, server) = await ConnectPairAsync();
        listener.Dispose();
        byte[] data = TestSupport.RandomBytes(Big, 5);
        var sends = new Task<int>[4];
        for (int i = 0; i < sends.Length; i++)
        {
            sends[i] = client.SendAsync(data.AsMemory()).AsTask();
        }

        var receives = new Task<int>[2];
        for (int i = 0; i < receives.Length; i++)
        {
            receives[i] = client.ReceiveAsync(new byte[1 << 20].AsMemory()).AsTask();
        }

        // The peer takes a little of the transfer, so bytes are really moving, then goes.
        var peek = new byte[65536];
        int got = await server.ReceiveAsync(peek).Within();
        Assert.True(got > 0);
        Assert.Equal(data.AsSpan(0, got).ToArray(), peek.AsSpan(0, got).ToArray());
        if (reset)
        {
            server.LingerState = new LingerOption(true, 0);
        }

        server.Dispose();
        foreach (Task<int> send in sends)
        {
            try
            {
                Assert.Equal(Big, await send.Within());
            }
            catch (Exception ex) when (IsConnectionError(ex))
            {
            }
        }

        Assert.Contains(sends, s => s.IsFaulted); // 64 MiB can't all have gone to a peer that read 64 KiB
        foreach (Task<int> receive in receives)
        {
            try
            {
                Assert.Equal(0, await receive.Within()); // the peer sent nothing: the end, or the reset
            }
            catch (Exception ex) when (IsConnectionError(ex))
            {
            }
        }

        // The dead connection refuses more, and disposing it leaves nothing behind (checked at the end).
        Exception? late = await Record.ExceptionAsync(() => client.SendAsync(data.AsMemory()).AsTask().Within());
        Assert.True(late is not null && IsConnectionError(late), $"a send after the peer left: {late}");
        client.Dispose();
    }

    [Fact]
    public async Task PipeReaderClosedWhileABigWriteIsPending()
    {
        using PortPipe pipe = Port.CreatePipe();
        byte[] data = TestSupport.RandomBytes(Big, 6);
        Task<int> write = pipe.Writer.WriteAsync(data).AsTask();
        var head = new byte[4096];
        int n = await pipe.Reader.ReadAsync(head).Within();
        Assert.True(n > 0);
        Assert.Equal(data.AsSpan(0, n).ToArray(), head.AsSpan(0, n).ToArray());
        pipe.Reader.Dispose();
        await Assert.ThrowsAsync<IOException>(() => write.Within());
    }

    [Fact]
    public async Task PipeWriterClosedWhileReadsArePending()
    {
        using PortPipe pipe = Port.CreatePipe();
        byte[] data = TestSupport.RandomBytes(1000, 7);
        Assert.Equal(1000, await pipe.Writer.WriteAsync(data).Within());
        pipe.Writer.Dispose();
        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await pipe.Reader.ReadAsync(buffer).Within()) > 0)
        {
            received.Write(buffer, 0, n);
        }

        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public async Task UdpPeerGoneLeavesThePendingReceiveForTheNextLiveDatagram()
    {
        using PortUdpSocket a = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        using PortUdpSocket live = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        PortUdpSocket gone = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        var goneEndPoint = (IPEndPoint)gone.LocalEndPoint;
        gone.Dispose(); // its port now answers ICMP port unreachable
        var buffer = new byte[512];
        Task<PortReceiveFromResult> receive = a.ReceiveFromAsync(buffer).AsTask();
        for (int i = 0; i < 3; i++)
        {
            try
            {
                Assert.Equal(100, await a.SendToAsync(new byte[100], goneEndPoint).Within());
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
            }
        }

        Assert.False(receive.IsCompleted, "the unreachable peer ended the pending receive");
        byte[] datagram = TestSupport.RandomBytes(200, 8);
        Assert.Equal(200, await live.SendToAsync(datagram, a.LocalEndPoint).Within());
        PortReceiveFromResult result = await receive.Within();
        Assert.Equal(200, result.ReceivedBytes);
        Assert.Equal(datagram, buffer.AsSpan(0, 200).ToArray());
    }
}
