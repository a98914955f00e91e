using System.Globalization;
using System.Text.Json;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// Section 5 of issue 5: memory per idle connection. A server holds N idle connections with one
/// receive pending on each and reports its resident memory per connection; bench_idle_clients holds
/// the other ends. The protocol between them is in native/benchmarks/bench_idle.h.
/// </summary>
public sealed partial class Cases
{

    internal const string IdleSocketsWait = "System.Net.Sockets (zero-byte receive)";
    internal const string IdlePortWait = "IocpHybrid C# (wait for data)";

    private BenchCase IdleConnections()
    {
        int n = o.Quick ? 1_000 : 10_000;
        string conns = n.ToString(CultureInfo.InvariantCulture);
        string idleExe = Path.Combine(p.Root, "managed", "benchmarks", "IocpHybrid.Benchmarks.Idle", "bin", "Release", "net10.0", "IocpHybrid.Benchmarks.Idle");
        return new BenchCase("5. Idle connections", $"{n:N0} idle connections, one receive pending on each", "rss_bytes_per_conn", false, "System.Net.Sockets",
        [
            new("System.Net.Sockets", () => Idle(idleExe, ["--mode", "sockets", "--conns", conns], n)),
            new("IocpHybrid C#", () => Idle(idleExe, ["--mode", "port", "--conns", conns], n)),
            new("IocpHybrid C", () => Idle(Path.Combine(p.NativeDir, "bench_idle_iocph"), ["--conns", conns], n)),
            new("epoll C (floor)", () => Idle(Path.Combine(p.NativeDir, "bench_idle_epoll"), ["--conns", conns], n)),
            new("IocpHybrid C# (epoll backend)", () => Idle(idleExe, ["--mode", "port", "--conns", conns], n, Epoll)),
            new("IocpHybrid C (epoll backend)", () => Idle(Path.Combine(p.NativeDir, "bench_idle_iocph"), ["--conns", conns], n, Epoll)),
            // Issue 19: what Kestrel keeps on an idle connection, a zero-byte receive (no buffer).
            new(IdleSocketsWait, () => Idle(idleExe, ["--mode", "sockets", "--conns", conns, "--wait-for-data"], n)),
            new(IdlePortWait, () => Idle(idleExe, ["--mode", "port", "--conns", conns, "--wait-for-data"], n)),
            new(IdlePortWait + " (epoll backend)", () => Idle(idleExe, ["--mode", "port", "--conns", conns, "--wait-for-data"], n, Epoll)),
        ])
        {
            Extra = ["managed_bytes_per_conn", "native_bytes_per_conn", "managed_live_bytes_per_conn"],
            Note = "Server on taskset -c 0, bench_idle_clients on -c 1. Every server accepts the connections and leaves exactly one receive " +
                   "pending on each into a 4 KiB buffer of its own (zeroed, hence resident, in every server: ~4,096 of each figure is that buffer); " +
                   "the C servers and the C# one share the protocol, the two C# contenders are the same code (IdleServer<T>). " +
                   "rss_bytes_per_conn = (VmRSS with N receives pending - VmRSS with 0 connections, after a warm-up) / N. " +
                   "managed = GC committed bytes (GCMemoryInfo.TotalCommittedBytes) per connection, native = rss - managed, " +
                   "managed_live = GC.GetTotalMemory(true) per connection. Kernel socket memory is not in RSS (the same for all). " +
                   "Afterwards the client sends one byte per connection and the server checks that every receive completed with it. " +
                   "'wait for data' / 'zero-byte receive' (the C# servers with --wait-for-data): the pending receive is a zero-length one, " +
                   "which completes when data arrives and holds no buffer (what Kestrel's transports keep on an idle connection); the byte is then read into one shared buffer.",
        };
    }

    /// <summary>One run: server up, client connects, server measures, client's bytes prove the receives were pending.</summary>
    private static readonly Dictionary<string, string> Epoll = new() { ["IOCPH_BACKEND"] = "epoll" };

    private Figures Idle(string server, string[] args, int n, IDictionary<string, string>? env = null)
    {
        RequireServerAndLoadCores("the client");

        TimeSpan step = TimeSpan.FromSeconds(120);
        using var srv = LineProcess.Start(server, args, ServerCore, env);
        string listening = srv.WaitForLine("\"listening\"", step);
        int port;
        using (var doc = JsonDocument.Parse(listening))
        {
            port = doc.RootElement.GetProperty("port").GetInt32();
        }

        using var client = LineProcess.Start(Path.Combine(p.NativeDir, "bench_idle_clients"),
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--conns", n.ToString(CultureInfo.InvariantCulture)], ClientCore);
        client.WaitForLine("\"connected\"", step);
        srv.WaitForLine("\"pending\"", step);
        client.WriteLine("send");
        client.WaitForLine("\"sent\"", step);
        srv.WaitForSuccess(step);
        client.CloseInput();
        client.WaitForSuccess(step);
        return Runner.ParseJsonLine(srv.Output, e => e.TryGetProperty("rss_bytes_per_conn", out _));
    }
}
