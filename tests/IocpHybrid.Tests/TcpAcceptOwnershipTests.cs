using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;

namespace IocpHybrid.Tests;

/// <summary>Who owns an accepted socket when the accept's result is read late, or never.</summary>
public sealed class TcpAcceptOwnershipTests : SocketTestBase
{
    [Fact]
    public async Task AnAcceptNobodyAwaitsClosesItsConnectionOnceCollected()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        StartAcceptAndDropIt(listener);
        using var client = await PortTcpConnection.ConnectAsync(Port, listener.LocalEndPoint).Within();
        await TestSupport.Eventually(() => Port.GetStatistics().OperationsInFlight == 0, "the dropped accept completed");

        // Nobody holds the accept's task: the accepted socket must be closed by the garbage collector,
        // which the client sees as the end of the stream.
        ValueTask<int> receive = client.ReceiveAsync(new byte[16].AsMemory());
        var clock = Stopwatch.StartNew();
        while (!receive.IsCompleted)
        {
            Assert.True(clock.Elapsed < TestSupport.StepTimeout, "the accepted socket of a dropped accept was never closed");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(10);
        }

        Assert.Equal(0, await receive);
    }

    [Fact]
    public async Task ACancelAfterTheAcceptCompletedStillHandsOverTheConnection()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        using var cts = new CancellationTokenSource();
        ValueTask<PortTcpConnection> accept = listener.AcceptAsync(cts.Token);
        using var client = await PortTcpConnection.ConnectAsync(Port, listener.LocalEndPoint).Within();
        await TestSupport.Eventually(() => Port.GetStatistics().OperationsInFlight == 0, "the accept completed");

        // The connection exists: a cancel now can't undo the accept, and throwing would lose the socket.
        cts.Cancel();
        using PortTcpConnection server = await accept.Within();
        await client.SendAsync(new byte[] { 42 }).Within();
        var buffer = new byte[1];
        Assert.Equal(1, await server.ReceiveAsync(buffer.AsMemory()).Within());
        Assert.Equal(42, buffer[0]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartAcceptAndDropIt(PortTcpListener listener) => _ = listener.AcceptAsync();
}
