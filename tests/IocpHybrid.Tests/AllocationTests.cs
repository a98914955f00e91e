namespace IocpHybrid.Tests;

/// <summary>Runs alone: it measures process-wide allocations.</summary>
[CollectionDefinition(nameof(AllocationCollection), DisableParallelization = true)]
public sealed class AllocationCollection
{
}

/// <summary>
/// Steady-state operations allocate nothing of their own. Measured with GC.GetTotalAllocatedBytes(precise: true),
/// which counts every thread of the process (GetAllocatedBytesForCurrentThread would miss the completion
/// path, which runs on native workers and thread-pool threads).
/// <para>Every awaited operation costs one thread-pool hop, and on Windows the runtime's thread pool itself
/// allocates about 24 bytes per queued work item (seen under Wine with a plain <c>await Task.Yield()</c>
/// loop; 0 on Linux). So the test measures that baseline in the same process first and allows the library
/// <see cref="ExtraBytesPerOperationBound"/> bytes per operation above it. The bound is generous, to absorb
/// what other threads (the runtime, the test framework) allocate meanwhile, yet any allocation of the
/// library's own on every operation still fails the test: the smallest object on x64 is 24 bytes.</para>
/// </summary>
[Collection(nameof(AllocationCollection))]
public sealed class AllocationTests
{
    private const int Operations = 20_000;
    private const double ExtraBytesPerOperationBound = 16;

    /// <summary>Bytes per thread-pool hop that the runtime allocates by itself here.</summary>
    private static async Task<double> ThreadPoolHopBaselineAsync(int count)
    {
        static async Task Loop(int n)
        {
            for (int i = 0; i < n; i++)
            {
                await Task.Yield();
            }
        }

        await Loop(2_000);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Loop(count);
        return (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)count;
    }

    private static void AssertWithinBound(long allocated, int operations, double baseline)
    {
        double perOperation = allocated / (double)operations;
        Assert.True(
            perOperation <= baseline + ExtraBytesPerOperationBound,
            $"{allocated} bytes for {operations} operations: {perOperation:F1} per operation, above the thread pool's own {baseline:F1} + {ExtraBytesPerOperationBound}");
    }

    [Fact]
    public async Task FileReadsAndWritesAllocateNothingInSteadyState()
    {
        using var dir = new TempDirectory();
        await using var port = new CompletionPort();
        using var file = port.OpenFile(dir.File("alloc.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(); // cancellable but never cancelled: registration is pooled too

        async Task Loop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                long offset = (i % 64) * 4096L;
                await file.WriteAsync(buffer, offset, cts.Token).ConfigureAwait(false);
                await file.ReadAsync(buffer, offset, cts.Token).ConfigureAwait(false);
            }
        }

        double baseline = await ThreadPoolHopBaselineAsync(Operations).Within();
        await Loop(2_000).Within(); // warm up: pools, JIT, tiering
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Loop(Operations / 2).Within();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        AssertWithinBound(allocated, Operations, baseline);
    }

    [Fact]
    public async Task TcpSendsAndReceivesAllocateNothingInSteadyState()
    {
        await using var port = new CompletionPort();
        using var listener = port.ListenTcp(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        ValueTask<PortTcpConnection> accept = listener.AcceptAsync();
        using var client = await PortTcpConnection.ConnectAsync(port, listener.LocalEndPoint).Within();
        using var server = await accept.Within();
        client.ReceiveTimeout = 60_000; // a native timeout on every receive costs nothing extra either
        var outgoing = new byte[64];
        var incoming = new byte[64];
        using var cts = new CancellationTokenSource();

        async Task Loop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                ValueTask<int> receive = server.ReceiveAsync(incoming.AsMemory(), cts.Token);
                await client.SendAsync(outgoing.AsMemory(), cts.Token).ConfigureAwait(false);
                int received = await receive.ConfigureAwait(false);
                while (received < outgoing.Length)
                {
                    received += await server.ReceiveAsync(incoming.AsMemory(received), cts.Token).ConfigureAwait(false);
                }
            }
        }

        double baseline = await ThreadPoolHopBaselineAsync(Operations).Within();
        await Loop(2_000).Within();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Loop(Operations / 2).Within();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        AssertWithinBound(allocated, Operations / 2 * 2, baseline);
    }

    [Fact]
    public async Task UdpDatagramsWithASocketAddressAllocateNothingInSteadyState()
    {
        await using var port = new CompletionPort();
        using var a = port.BindUdp(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        using var b = port.BindUdp(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        System.Net.SocketAddress target = b.LocalEndPoint.Serialize();
        var from = new System.Net.SocketAddress(System.Net.Sockets.AddressFamily.InterNetwork);
        var outgoing = new byte[32];
        var incoming = new byte[64];

        async Task Loop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                ValueTask<PortReceiveResult> receive = b.ReceiveFromAsync(incoming, from);
                await a.SendToAsync(outgoing, target).ConfigureAwait(false);
                await receive.ConfigureAwait(false);
            }
        }

        double baseline = await ThreadPoolHopBaselineAsync(Operations).Within();
        await Loop(2_000).Within();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Loop(Operations / 2).Within();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        AssertWithinBound(allocated, Operations / 2 * 2, baseline);
    }

    [Fact]
    public async Task PostsAndPipeTransfersAllocateNothingInSteadyState()
    {
        await using var port = new CompletionPort();
        using var pipe = port.CreatePipe();
        var outgoing = new byte[64];
        var incoming = new byte[64];

        async Task Loop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                await port.PostAsync(1, i).ConfigureAwait(false);
                ValueTask<int> read = pipe.Reader.ReadAsync(incoming);
                await pipe.Writer.WriteAsync(outgoing).ConfigureAwait(false);
                int received = await read.ConfigureAwait(false);
                while (received < outgoing.Length)
                {
                    received += await pipe.Reader.ReadAsync(incoming.AsMemory(received)).ConfigureAwait(false);
                }
            }
        }

        double baseline = await ThreadPoolHopBaselineAsync(Operations).Within();
        await Loop(2_000).Within();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await Loop(Operations / 3).Within();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        AssertWithinBound(allocated, Operations / 3 * 3, baseline);
    }
}
