namespace IocpHybrid.Tests;

/// <summary>
/// Work that needs no wait finishes inside the call (iocph_*_try_*): a read of cached file data, a
/// send that fits into the socket buffer, a receive of bytes that have arrived. The result must be
/// the same as through the port, no byte may be lost or reordered when an attempt does only part of
/// the work, and nothing of it may count as an operation of the port. io_uring and epoll must really
/// finish such work in the call; IOCP declines sends and file reads (see iocphybrid.h) but not receives.
/// </summary>
public sealed class ImmediateCompletionTests : SocketTestBase
{
    private static bool OnIoUring => TestSupport.AttemptsInTheCall;

    [Fact]
    public async Task CachedFileReadsFinishInsideTheCallWithTheRightBytesAndEndOfFile()
    {
        using var dir = new TempDirectory();
        string path = dir.File("cached.bin");
        byte[] data = TestSupport.RandomBytes(3 * 4096 + 100, seed: 11);
        File.WriteAllBytes(path, data); // just written: cached
        using PortFile file = Port.OpenFile(path, FileMode.Open, FileAccess.Read);
        long started = Port.GetStatistics().OperationsStarted;

        var buffer = new byte[8192];
        ValueTask<int> read = file.ReadAsync(buffer.AsMemory(0, 4096), 4096);
        if (OnIoUring)
        {
            Assert.True(read.IsCompleted, "a read of cached pages went through the port");
        }

        Assert.Equal(4096, await read.Within());
        Assert.Equal(data.AsSpan(4096, 4096), buffer.AsSpan(0, 4096));

        // Across the end of the file: what is there; past it: 0.
        Assert.Equal(100, await file.ReadAsync(buffer, 3 * 4096).Within());
        Assert.Equal(data.AsSpan(3 * 4096, 100), buffer.AsSpan(0, 100));
        Assert.Equal(0, await file.ReadAsync(buffer, data.Length + 10).Within());

        if (OnIoUring)
        {
            Assert.Equal(started, Port.GetStatistics().OperationsStarted); // never reached the port
        }
    }

    [Fact]
    public async Task ASendThatFitsFinishesInsideTheCall()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            byte[] message = TestSupport.RandomBytes(1000, seed: 12);
            ValueTask<int> send = client.SendAsync(message.AsMemory());
            if (OnIoUring)
            {
                Assert.True(send.IsCompleted, "a send that fits went through the port");
            }

            Assert.Equal(message.Length, await send.Within());
            var received = new byte[message.Length];
            await ReceiveExactlyAsync(server, received);
            Assert.Equal(message, received);
        }
    }

    [Fact]
    public async Task ALargeSendThatOnlyPartlyFitsSendsTheRestThroughThePortInOrder()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            // Far more than the socket buffers hold: the immediate attempt sends a part, the port the rest.
            byte[] message = TestSupport.RandomBytes(16 << 20, seed: 13);
            Task<int> send = client.SendAsync(message.AsMemory()).AsTask();
            await Task.Delay(50); // let the buffers fill before the peer reads
            var received = new byte[message.Length];
            await ReceiveExactlyAsync(server, received);
            Assert.Equal(message.Length, await send.Within());
            Assert.True(message.AsSpan().SequenceEqual(received), "the bytes arrived changed or out of order");
        }
    }

    [Fact]
    public async Task AfterAReceiveFillsTheBufferTheNextTakesWhatHasArrivedInsideTheCall()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            byte[] message = TestSupport.RandomBytes(100, seed: 14);
            Assert.Equal(100, await client.SendAsync(message).Within());
            await Task.Delay(50); // all 100 bytes have arrived

            var first = new byte[10];
            await ReceiveExactlyAsync(server, first); // fills its buffer: more is probably waiting
            var rest = new byte[90];
            ValueTask<int> next = server.ReceiveAsync(rest.AsMemory());
            Assert.True(next.IsCompleted, "a receive of bytes that have arrived, right after a full one, went through the port");
            int n = await next.Within();
            Assert.True(n > 0);
            await ReceiveExactlyAsync(server, rest.AsMemory(n));
            Assert.Equal(message, first.Concat(rest).ToArray());
        }
    }

    [Fact]
    public async Task ImmediateAttemptsOnADisposedConnectionOrFileThrowObjectDisposed()
    {
        var (listener, client, server) = await ConnectPairAsync();
        listener.Dispose();
        server.Dispose();
        client.Dispose();
        Assert.Throws<ObjectDisposedException>(() => client.SendAsync(new byte[1].AsMemory()));
        Assert.Throws<ObjectDisposedException>(() => client.ReceiveAsync(new byte[1].AsMemory()));

        using var dir = new TempDirectory();
        string path = dir.File("x.bin");
        File.WriteAllBytes(path, new byte[10]);
        PortFile file = Port.OpenFile(path, FileMode.Open, FileAccess.Read);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.ReadAsync(new byte[1].AsMemory(), 0));
        await Task.CompletedTask;
    }
}
