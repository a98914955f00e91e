using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace IocpHybrid.Tests;

/// <summary>A connection as an <see cref="IDuplexPipe"/>: data both ways, back-pressure, closing, idle memory.</summary>
public sealed class PortDuplexPipeTests : SocketTestBase
{
    [Fact]
    public async Task EchoesMegabytesWholeAndInOrder()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            await using var pipe = new PortDuplexPipe(server);
            await DuplexPipeEcho.RoundTripAsync(client, pipe, 4 * 1024 * 1024);
        }
    }

    [Fact]
    public async Task AnApplicationThatDoesNotReadStopsTheReceiveLoopAtTheThreshold()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            const int threshold = 64 * 1024;

            // Small kernel buffers, so that what the kernel holds is far less than what is sent.
            server.ReceiveBufferSize = 64 * 1024;
            client.SendBufferSize = 64 * 1024;
            await using var pipe = new PortDuplexPipe(server, new PortDuplexPipeOptions { MaxReadBufferSize = threshold });
            byte[] data = RandomNumberGenerator.GetBytes(16 * 1024 * 1024);
            Task sending = client.SendAsync(data);

            // The sender stalls once the pipe holds its threshold and the kernel's buffers fill.
            await Task.Delay(500);
            Assert.False(sending.IsCompleted, "16 MiB were all taken by a pipe whose reader never read");
            ReadResult held = await pipe.Input.ReadAsync().AsTask().Within();
            Assert.InRange(held.Buffer.Length, 1, threshold + PinnedBlockMemoryPool.BlockSize);
            pipe.Input.AdvanceTo(held.Buffer.Start, held.Buffer.End);

            // Reading resumes it: every byte arrives, in order.
            var received = new byte[data.Length];
            long total = 0;
            while (total < data.Length)
            {
                ReadResult result = await pipe.Input.ReadAsync().AsTask().Within();
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    segment.Span.CopyTo(received.AsSpan((int)total));
                    total += segment.Length;
                }

                pipe.Input.AdvanceTo(result.Buffer.End);
            }

            await sending.Within();
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(received));
        }
    }

    [Fact]
    public async Task CompletingTheOutputSendsEverythingThenClosesTheConnection()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            var pipe = new PortDuplexPipe(server);
            byte[] data = RandomNumberGenerator.GetBytes(300 * 1024);
            await pipe.Output.WriteAsync(data).AsTask().Within();
            await pipe.Output.CompleteAsync();

            byte[] received = await ReceiveToEndAsync(client);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(received));
            await pipe.Completion.Within();
            Assert.True(server.IsClosed);
            await pipe.DisposeAsync();
        }
    }

    [Fact]
    public async Task APeerThatClosesCompletesTheInputAfterItsDataAndFiresConnectionClosed()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        {
            await using var pipe = new PortDuplexPipe(server);
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using CancellationTokenRegistration registration = pipe.ConnectionClosed.Register(() => closed.TrySetResult());
            await client.SendAsync("last words"u8.ToArray()).Within();
            client.Dispose();

            ReadResult result;
            do
            {
                result = await pipe.Input.ReadAsync().AsTask().Within();
                if (!result.IsCompleted)
                {
                    pipe.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                }
            }
            while (!result.IsCompleted);
            Assert.Equal("last words"u8.ToArray(), result.Buffer.ToArray());
            pipe.Input.AdvanceTo(result.Buffer.End);
            await closed.Task.Within();
        }
    }

    [Fact]
    public async Task AbortEndsThePendingReceiveWithTheReasonAndClosesTheConnection()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            await using var pipe = new PortDuplexPipe(server);
            ValueTask<ReadResult> reading = pipe.Input.ReadAsync();
            await Task.Delay(50);
            var reason = new InvalidOperationException("aborted by the test");
            pipe.Abort(reason);
            var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => reading.AsTask().Within());
            Assert.Same(reason, thrown);
            Assert.Equal(0, await client.ReceiveAsync(new byte[1]).Within());
            await pipe.Completion.Within();
        }
    }

    [Theory]
    [InlineData(true, 0)]
    [InlineData(false, 1)]
    public async Task AnIdleConnectionHoldsNoBufferWhileItWaitsForData(bool waitForData, int blocksWhileIdle)
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            using var pool = new CountingPool();
            await using var pipe = new PortDuplexPipe(server, new PortDuplexPipeOptions { MemoryPool = pool, WaitForDataBeforeAllocatingBuffer = waitForData });

            // The receive loop is waiting (wait for data, or a receive into a rented block).
            await TestSupport.Eventually(() => pool.Outstanding == blocksWhileIdle && server.Port.GetStatistics().OperationsInFlight > 0, "the receive loop waiting");
            await Task.Delay(100);
            Assert.Equal(blocksWhileIdle, pool.Outstanding);

            // Data still flows.
            await client.SendAsync(new byte[] { 1, 2, 3 }).Within();
            ReadResult result = await pipe.Input.ReadAsync().AsTask().Within();
            Assert.Equal(new byte[] { 1, 2, 3 }, result.Buffer.ToArray());
            pipe.Input.AdvanceTo(result.Buffer.End);
        }
    }

    [Fact]
    public void BadArgumentsAreRefused()
    {
        Assert.Throws<ArgumentNullException>(() => new PortDuplexPipe(null!));
        var options = new PortDuplexPipeOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxReadBufferSize = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxWriteBufferSize = -1);
    }

    [Fact]
    public async Task ADisposedConnectionIsRefused()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            server.Dispose();
            Assert.Throws<ObjectDisposedException>(() => new PortDuplexPipe(server));
        }
    }

    /// <summary>A pool that counts the blocks rented and not yet returned.</summary>
    private sealed class CountingPool : MemoryPool<byte>
    {
        private int _outstanding;

        public int Outstanding => Volatile.Read(ref _outstanding);

        public override int MaxBufferSize => 4096;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            Interlocked.Increment(ref _outstanding);
            return new Owner(this);
        }

        protected override void Dispose(bool disposing)
        {
        }

        private sealed class Owner(CountingPool pool) : IMemoryOwner<byte>
        {
            private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(4096, pinned: true);
            private int _disposed;

            public Memory<byte> Memory => _array;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    Interlocked.Decrement(ref pool._outstanding);
                }
            }
        }
    }
}
