using System.Diagnostics;

namespace IocpHybrid.Tests;

public sealed class PortPipeTests : IAsyncLifetime
{
    private readonly CompletionPort _port = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _port.DisposeAsync().Within();

    [Fact]
    public async Task BytesWrittenAreReadInOrder()
    {
        using var pipe = _port.CreatePipe();
        byte[] data = TestSupport.RandomBytes(256 * 1024, seed: 6);
        var received = new MemoryStream();

        async Task Reader()
        {
            var buffer = new byte[7000];
            while (received.Length < data.Length)
            {
                int n = await pipe.Reader.ReadAsync(buffer).ConfigureAwait(false);
                Assert.True(n > 0);
                received.Write(buffer, 0, n);
            }
        }

        Task reading = Reader();
        for (int offset = 0; offset < data.Length; offset += 10_000)
        {
            int length = Math.Min(10_000, data.Length - offset);
            Assert.Equal(length, await pipe.Writer.WriteAsync(data.AsMemory(offset, length)).Within());
        }

        await reading.Within();
        Assert.Equal(data, received.ToArray());
    }

    [Fact]
    public async Task ArrayOverloadsWork()
    {
        using var pipe = _port.CreatePipe();
        Assert.Equal(3, await pipe.Writer.WriteAsync([9, 1, 2, 3, 9], 1, 3).Within());
        var buffer = new byte[5];
        Assert.Equal(3, await pipe.Reader.ReadAsync(buffer, 2, 3).Within());
        Assert.Equal(new byte[] { 0, 0, 1, 2, 3 }, buffer);
    }

    [Fact]
    public async Task ClosingTheWriterEndsTheStream()
    {
        using var pipe = _port.CreatePipe();
        var buffer = new byte[16];
        ValueTask<int> pending = pipe.Reader.ReadAsync(buffer);
        await pipe.Writer.WriteAsync(new byte[] { 5 }).Within();
        Assert.Equal(1, await pending.Within());
        pipe.Writer.Dispose();
        Assert.Equal(0, await pipe.Reader.ReadAsync(buffer).Within());
    }

    [Fact]
    public async Task WritingToAPipeWithoutReaderThrowsIOException()
    {
        using var pipe = _port.CreatePipe();
        pipe.Reader.Dispose();

        // The native close completes asynchronously (on the ring's thread under io_uring): wait until
        // the OS handle is gone, otherwise the write could still land in the socket's buffer.
        await TestSupport.Eventually(() => _port.GetStatistics().HandlesOpen == 1, "the read end closed");
        var ex = await Assert.ThrowsAnyAsync<IOException>(() => pipe.Writer.WriteAsync(new byte[100]).AsTask().WaitAsync(TestSupport.StepTimeout));
        Assert.IsType<IOException>(ex);
    }

    [Fact]
    public async Task CancelledReadEndsWithTheTokenWithinASecond()
    {
        using var pipe = _port.CreatePipe();
        using var cts = new CancellationTokenSource();
        ValueTask<int> read = pipe.Reader.ReadAsync(new byte[64], cts.Token);
        Assert.False(read.IsCompleted); // nothing was written: it waits
        await Task.Delay(50);
        Assert.False(read.IsCompleted);

        var clock = Stopwatch.StartNew();
        cts.Cancel();
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask().WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
        Assert.Equal(cts.Token, ex.CancellationToken);

        // The pipe still works after a cancelled read.
        await pipe.Writer.WriteAsync(new byte[] { 7 }).Within();
        var one = new byte[1];
        Assert.Equal(1, await pipe.Reader.ReadAsync(one).Within());
        Assert.Equal(7, one[0]);
    }

    [Fact]
    public async Task ManyCancelledReadsEachEndWithTheirToken()
    {
        const int count = 100;
        var pipes = new PortPipe[count];
        var sources = new CancellationTokenSource[count];
        var reads = new Task<int>[count];
        for (int i = 0; i < count; i++)
        {
            pipes[i] = _port.CreatePipe();
            sources[i] = new CancellationTokenSource();
            reads[i] = pipes[i].Reader.ReadAsync(new byte[32], sources[i].Token).AsTask();
        }

        // Every other one gets data, the rest are cancelled.
        for (int i = 0; i < count; i++)
        {
            if (i % 2 == 0)
            {
                sources[i].Cancel();
            }
            else
            {
                await pipes[i].Writer.WriteAsync(new byte[] { (byte)i }).Within();
            }
        }

        for (int i = 0; i < count; i++)
        {
            if (i % 2 == 0)
            {
                var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reads[i].Within());
                Assert.Equal(sources[i].Token, ex.CancellationToken);
            }
            else
            {
                Assert.Equal(1, await reads[i].Within());
            }

            pipes[i].Dispose();
            sources[i].Dispose();
        }

        await TestSupport.Eventually(() => _port.GetStatistics() is { OperationsInFlight: 0, HandlesOpen: 0 }, "ops_in_flight 0 and handles_open 0");
    }

    [Fact]
    public async Task AlreadyCancelledTokenStartsNothing()
    {
        using var pipe = _port.CreatePipe();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        long started = _port.GetStatistics().OperationsStarted;
        var read = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipe.Reader.ReadAsync(new byte[1], cts.Token).AsTask());
        Assert.Equal(cts.Token, read.CancellationToken);
        var write = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipe.Writer.WriteAsync(new byte[1], cts.Token).AsTask());
        Assert.Equal(cts.Token, write.CancellationToken);
        Assert.Equal(started, _port.GetStatistics().OperationsStarted);
    }

    [Fact]
    public async Task CancelPendingOperationsCancelsEveryRead()
    {
        using var pipe = _port.CreatePipe();
        var reads = Enumerable.Range(0, 8).Select(_ => pipe.Reader.ReadAsync(new byte[8]).AsTask()).ToArray();
        pipe.Reader.CancelPendingOperations();
        foreach (var read in reads)
        {
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.Within());
            Assert.False(ex.CancellationToken.CanBeCanceled);
        }
    }

    [Fact]
    public async Task DisposingTheReaderCompletesItsReadsWithObjectDisposed()
    {
        var pipe = _port.CreatePipe();
        var reads = Enumerable.Range(0, 4).Select(_ => pipe.Reader.ReadAsync(new byte[8]).AsTask()).ToArray();
        pipe.Reader.Dispose();
        foreach (var read in reads)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => read.Within());
        }

        pipe.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pipe.Reader.ReadAsync(new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => pipe.Writer.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task DisposingThePortCompletesEveryReadInFlightWithObjectDisposed()
    {
        var port = new CompletionPort();
        var pipes = Enumerable.Range(0, 20).Select(_ => port.CreatePipe()).ToArray();
        var reads = pipes.SelectMany(p => Enumerable.Range(0, 10).Select(_ => p.Reader.ReadAsync(new byte[16]))).ToArray();
        Assert.Equal(200, reads.Length);

        await port.DisposeAsync().Within();

        // Documented: an operation cancelled because its port (or handle) was disposed ends with
        // ObjectDisposedException, and every one has completed by the time DisposeAsync has.
        Assert.All(reads, r => Assert.True(r.IsCompleted));
        foreach (var read in reads)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(async () => await read);
        }

        // The handles went with the port.
        Assert.Throws<ObjectDisposedException>(() => pipes[0].Reader.ReadAsync(new byte[1]));
    }

    [Fact]
    public async Task DisposingThePortPrefersTheCallersCancelledToken()
    {
        var port = new CompletionPort();
        var pipe = port.CreatePipe();
        using var cts = new CancellationTokenSource();
        var read = pipe.Reader.ReadAsync(new byte[4], cts.Token).AsTask();
        cts.Cancel();
        await port.DisposeAsync().Within();
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        Assert.Equal(cts.Token, ex.CancellationToken);
    }

    [Fact]
    public void BadArgumentsThrow()
    {
        using var pipe = _port.CreatePipe();
        Assert.Throws<ArgumentNullException>(() => { _ = pipe.Reader.ReadAsync(null!, 0, 1); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = pipe.Reader.ReadAsync(new byte[4], 2, 3); });
        Assert.Throws<ArgumentNullException>(() => { _ = pipe.Writer.WriteAsync(null!, 0, 1); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = pipe.Writer.WriteAsync(new byte[4], -1, 1); });
    }

    [Fact]
    public async Task EmptyBuffersTransferNothing()
    {
        using var pipe = _port.CreatePipe();
        Assert.Equal(0, await pipe.Writer.WriteAsync(ReadOnlyMemory<byte>.Empty).Within());
        Assert.Equal(0, await pipe.Reader.ReadAsync(Memory<byte>.Empty).Within());
    }
}
