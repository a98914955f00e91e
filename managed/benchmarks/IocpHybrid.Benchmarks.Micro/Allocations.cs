using System.Diagnostics;
using System.Globalization;

namespace IocpHybrid.Benchmarks.Micro;

/// <summary>
/// Issue 5 section 4: bytes allocated per operation in steady state, from
/// <see cref="GC.GetTotalAllocatedBytes(bool)"/> around a fixed count of awaited operations after a
/// warm-up (the pools are full then), plus the time spent in the call that starts an operation
/// (argument checks, pooled state, pinning, the P/Invoke) measured around the call alone.
/// </summary>
internal static class Allocations
{
    /// <summary>Set by <c>alloc --types</c>: the types allocated in the measured part go to stderr.</summary>
    private static AllocationSampler? s_sampler;

    public static async Task<int> RunAsync(long ops, string? only, bool types = false)
    {
        using AllocationSampler? sampler = types ? new AllocationSampler() : null;
        s_sampler = sampler;
        foreach (bool inline in new[] { false, true })
        {
            await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1, InlineCompletions = inline });
            string path = Path.Combine(Path.GetTempPath(), $"iocph-alloc-{Environment.ProcessId}.bin");
            File.WriteAllBytes(path, new byte[1 << 20]);
            try
            {
                using PortFile file = port.OpenFile(path, FileMode.Open, FileAccess.ReadWrite);
                var buffer = new byte[4096];
                Memory<byte> memory = buffer;
                string suffix = inline ? "-inline" : "";
                if (only is null || only == "post" + suffix) await MeasureAsync("post" + suffix, ops, () => port.PostAsync(1, 42)).ConfigureAwait(false);
                if (only is null || only == "file-read" + suffix) await MeasureAsync("file-read" + suffix, ops, () => file.ReadAsync(memory, 0)).ConfigureAwait(false);
                if (only is null || only == "file-write" + suffix) await MeasureAsync("file-write" + suffix, ops, () => file.WriteAsync(memory, 4096)).ConfigureAwait(false);
                if (only is null || only == "socket-send-receive" + suffix)
                {
                    await MeasureSocketAsync(port, "socket-send-receive" + suffix, ops).ConfigureAwait(false);
                }
            }
            finally
            {
                File.Delete(path);
            }
        }

        return 0;
    }

    /// <summary>
    /// One operation = a 64-byte send on one end of a loopback connection and the receive of it on the
    /// other (the send usually finishes inside the call, the receive goes through the port).
    /// </summary>
    private static async Task MeasureSocketAsync(CompletionPort port, string name, long ops)
    {
        using PortTcpListener listener = port.ListenTcp(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        ValueTask<PortTcpConnection> accepting = listener.AcceptAsync();
        using PortTcpConnection client = await PortTcpConnection.ConnectAsync(port, listener.LocalEndPoint).ConfigureAwait(false);
        using PortTcpConnection server = await accepting.ConfigureAwait(false);
        client.NoDelay = true;
        ReadOnlyMemory<byte> message = new byte[64];
        Memory<byte> received = new byte[64];
        await MeasureAsync(name, ops, () => RoundTripAsync(client, server, message, received)).ConfigureAwait(false);
    }

    // Pooled builder: the default one would allocate a box per asynchronous completion of this
    // benchmark method itself, which is not the library's allocation.
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> RoundTripAsync(PortTcpConnection client, PortTcpConnection server, ReadOnlyMemory<byte> message, Memory<byte> received)
    {
        await client.SendAsync(message).ConfigureAwait(false);
        int got = 0;
        while (got < message.Length)
        {
            got += await server.ReceiveAsync(received[got..]).ConfigureAwait(false);
        }

        return got;
    }

    private static async Task MeasureAsync<T>(string name, long ops, Func<ValueTask<T>> start)
    {
        // Warm-up: tiering, pools, the thread pool's threads.
        for (int i = 0; i < 20_000; i++)
        {
            await start().ConfigureAwait(false);
        }

        s_sampler?.Start();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (long i = 0; i < ops; i++)
        {
            await start().ConfigureAwait(false);
        }

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        if (s_sampler != null)
        {
            Console.Error.WriteLine($"{name}: sampled allocations (about one per 100 KB): {s_sampler.Stop()}");
        }

        // The start alone: timestamps around the call that starts the operation, minus an empty pair.
        const int StartSamples = 20_000;
        long startTicks = 0, emptyTicks = 0;
        for (int i = 0; i < StartSamples; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            long t1 = Stopwatch.GetTimestamp();
            ValueTask<T> vt = start();
            long t2 = Stopwatch.GetTimestamp();
            emptyTicks += t1 - t0;
            startTicks += t2 - t1;
            await vt.ConfigureAwait(false);
        }

        double startNs = (startTicks - emptyTicks) * 1e9 / Stopwatch.Frequency / StartSamples;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"name\":\"{name}\",\"ops\":{ops},\"bytes_per_op\":{(double)allocated / ops:F4},\"start_ns\":{startNs:F1}}}"));
    }
}
