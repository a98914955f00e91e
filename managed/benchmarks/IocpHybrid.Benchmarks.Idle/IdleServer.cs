using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Benchmarks.Idle;

/// <summary>
/// The one server of both managed contenders, generic over the connection type so that IocpHybrid and
/// System.Net.Sockets run exactly the same code with no wrapper object per connection: accept N
/// connections, start one receive into a new 4 KiB array on each, measure, then prove every receive
/// was pending by letting the client's single bytes complete them. Protocol: native/benchmarks/bench_idle.h.
/// With <c>waitForData</c> the pending receive is a zero-byte one (wait for data, what Kestrel's
/// transports keep on an idle connection): no buffer per connection; once it completes, the byte is
/// read into one shared buffer.
/// </summary>
/// <typeparam name="TConn">PortTcpConnection or Socket.</typeparam>
internal sealed class IdleServer<TConn>(
    Func<ValueTask<TConn>> accept,
    Func<TConn, Memory<byte>, ValueTask<int>> receive,
    Action<TConn> close,
    Func<int, string?> checkPending,
    bool waitForData)
    where TConn : class
{
    public const int BufferSize = 4096; // the same in every server of the case (none with waitForData)
    private const byte Byte = (byte)'x'; // what bench_idle_clients sends at the end
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>Runs the whole protocol; returns the process exit code.</summary>
    /// <param name="n">Connections to hold.</param>
    /// <param name="port">The listener's port, announced to the harness.</param>
    public async Task<int> RunAsync(int n, int port)
    {
        // Warm-up: JIT, pools and first-use allocations of the accept/receive path land in the
        // baseline, not in the per-connection figure.
        await WarmUpAsync(8, port);
        MemorySnapshot before = MemorySnapshot.Take();
        Console.WriteLine($"{{\"event\":\"listening\",\"port\":{port}}}");

        // The bookkeeping arrays are per-connection memory too (the C servers' are): allocated after the baseline.
        var conns = new TConn[n];
        var buffers = new byte[n][];
        var pending = new ValueTask<int>[n];
        for (int i = 0; i < n; i++)
        {
            conns[i] = await accept();
            buffers[i] = waitForData ? [] : new byte[BufferSize];
            pending[i] = receive(conns[i], buffers[i]);
        }

        MemorySnapshot after = MemorySnapshot.Take();
        int early = pending.Count(p => p.IsCompleted);
        string? problem = early > 0 ? $"{early} receives completed before the client sent anything" : checkPending(n);
        if (problem != null)
        {
            Console.Error.WriteLine("idle server: " + problem);
            return 1;
        }

        Console.WriteLine($"{{\"event\":\"pending\",\"conns\":{n}}}");

        // The client now sends one byte on every connection: each receive must complete with it.
        int[] got = await Task.WhenAll(pending.Select(p => p.AsTask())).WaitAsync(Wait);
        byte[] shared = new byte[BufferSize];
        for (int i = 0; i < n; i++)
        {
            // A wait for data completes with 0 once the byte is there; the byte itself comes next.
            bool ok = waitForData
                ? got[i] == 0 && await receive(conns[i], shared).AsTask().WaitAsync(Wait) == 1 && shared[0] == Byte
                : got[i] == 1 && buffers[i][0] == Byte;
            if (!ok)
            {
                Console.Error.WriteLine($"idle server: receive {i} completed with {got[i]} bytes, expected {(waitForData ? "0 then the byte" : "the byte")}");
                return 1;
            }
        }

        foreach (TConn c in conns)
        {
            close(c);
        }

        Report(n, before, after);
        return 0;
    }

    /// <summary>A few connections from an in-process client, each receiving one byte, then closed.</summary>
    private async Task WarmUpAsync(int count, int port)
    {
        for (int i = 0; i < count; i++)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Wait);
            TConn c = await accept().AsTask().WaitAsync(Wait);
            var buffer = new byte[BufferSize];
            ValueTask<int> r = receive(c, waitForData ? Memory<byte>.Empty : buffer);
            client.Send([Byte]);
            int got = await r.AsTask().WaitAsync(Wait);
            if (waitForData && got == 0)
            {
                got = await receive(c, buffer).AsTask().WaitAsync(Wait);
            }

            if (got != 1)
            {
                throw new InvalidOperationException("warm-up receive did not get its byte");
            }

            close(c);
        }
    }

    private static void Report(int n, MemorySnapshot before, MemorySnapshot after)
    {
        double Per(long a, long b) => (double)(b - a) / n;
        double rss = Per(before.Rss, after.Rss);
        double committed = Per(before.ManagedCommitted, after.ManagedCommitted);
        double live = Per(before.ManagedLive, after.ManagedLive);
        FormattableString line = $"{{\"conns\":{n},\"rss_before\":{before.Rss},\"rss_after\":{after.Rss},\"rss_bytes_per_conn\":{rss:0.0},\"managed_bytes_per_conn\":{committed:0.0},\"managed_live_bytes_per_conn\":{live:0.0},\"native_bytes_per_conn\":{rss - committed:0.0}}}";
        Console.WriteLine(line.ToString(CultureInfo.InvariantCulture));
    }
}
