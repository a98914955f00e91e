using System.Globalization;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// Section 1 of issue 5: TCP echo ping-pong on loopback. Every repetition starts a fresh server on
/// CPU 0 and the closed-loop C client (native/benchmarks/bench_echo_client.c) on CPU 1, so the
/// server has a core of its own and its CPU time per round trip can be read from /proc/PID/stat.
/// </summary>
public sealed partial class Cases
{
    private const string InlineSocketsVar = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    private const string EchoBaseline = "System.Net.Sockets";
    private const string EpollBackendVar = "IOCPH_BACKEND";
    internal const string EpollC = "IocpHybrid C (echo_server, epoll backend)";
    internal const string EpollThreadPool = "IocpHybrid C# (thread pool, epoll backend)";
    internal const string EpollInline = "IocpHybrid C# (inline, epoll backend)";

    private static readonly int[] EchoConnections = [1, 64, 512];
    private static readonly int[] EchoSizes = [64, 4096, 65536];

    private IEnumerable<BenchCase> Echo()
    {
        foreach (int conns in EchoConnections)
        {
            foreach (int size in EchoSizes)
            {
                yield return EchoCase(conns, size);
            }
        }
    }

    private BenchCase EchoCase(int conns, int size)
    {
        string sample = ManagedExe(Path.Combine("samples", "EchoServer"), "EchoServer");
        string bcl = ManagedExe(Path.Combine("benchmarks", "IocpHybrid.Benchmarks.BclEchoServer"), "IocpHybrid.Benchmarks.BclEchoServer");
        string native = p.NativeDir;

        // The inline switch of System.Net.Sockets is read from the environment: the default contenders
        // must not inherit it from whoever runs the harness.
        var socketsDefault = new Dictionary<string, string?> { [InlineSocketsVar] = null };
        var socketsInline = new Dictionary<string, string?> { [InlineSocketsVar] = "1" };
        Figures Run(string server, string[] args, Dictionary<string, string?>? env = null) =>
            EchoRun(server, args, env ?? socketsDefault, conns, size);

        // The library on its epoll backend (IOCPH_BACKEND=epoll, what runs where io_uring is refused).
        var epoll = new Dictionary<string, string?> { [InlineSocketsVar] = null, [EpollBackendVar] = "epoll" };
        var contenders = new List<Contender>
        {
            new("IocpHybrid C (echo_server)", () => Run(Path.Combine(native, "echo_server"), ["0"])),
            new("IocpHybrid C# (thread pool)", () => Run(sample, ["0"])),
            new("IocpHybrid C# (inline)", () => Run(sample, ["0", "--inline"])),
            new(EchoBaseline, () => Run(bcl, ["0"])),
            new("System.Net.Sockets (inline)", () => Run(bcl, ["0"], socketsInline)),
            new("plain C epoll (floor)", () => Run(Path.Combine(native, "epoll_echo_server"), ["--port", "0"])),
        };
        if (conns == 64 && size == 64)
        {
            // The epoll backend's contenders in the case its targets are judged on (a full run stays
            // within its time: the other echo cases keep their six).
            contenders.Add(new(EpollC, () => Run(Path.Combine(native, "echo_server"), ["0"], epoll)));
            contenders.Add(new(EpollThreadPool, () => Run(sample, ["0"], epoll)));
            contenders.Add(new(EpollInline, () => Run(sample, ["0", "--inline"], epoll)));
        }
        return new BenchCase("1. TCP echo", $"{conns} connection{(conns == 1 ? "" : "s")} x {SizeText(size)}", "round_trips_per_sec", true, EchoBaseline, contenders)
        {
            Extra = ["p50_us", "p99_us", "server_cpu_us_per_rt", "client_cpu_us_per_rt"],
            Repetitions = conns == 64 && size == 64 ? TargetRepetitions() : 0,
            Note = $"Loopback, a fresh server per run on CPU 0 (taskset -c 0), the closed-loop C client bench_echo_client on CPU 1: " +
                   $"{conns} connection(s), each sends {size} B and waits for the whole echo (checked byte for byte) before the next; " +
                   $"{ManagedWarmup()} s warm-up, then {Sec(2)} s measured. server_cpu_us_per_rt = the server's utime+stime (/proc/PID/stat, all threads) " +
                   "per round trip: the figure to compare when client_cpu_us_per_rt shows the client saturating its core. " +
                   "C# servers: managed/samples/EchoServer (IocpHybrid) and IocpHybrid.Benchmarks.BclEchoServer (the same code on Socket); every server reads into a 64 KiB buffer per connection; " +
                   $"'inline' = CompletionPortOptions.InlineCompletions or {InlineSocketsVar}=1; 'epoll backend' = the same server with {EpollBackendVar}=epoll.",
        };
    }

    /// <summary>One repetition: server up on CPU 0, client on CPU 1, server stopped with SIGTERM (or <paramref name="stopSignal"/>).</summary>
    private Figures EchoRun(string server, string[] serverArgs, IReadOnlyDictionary<string, string?> env, int conns, int size, int stopSignal = ServerProcess.SigTerm)
    {
        RequireServerAndLoadCores("the client");

        using ServerProcess s = ServerProcess.Start(server, serverArgs, ServerCore, env);
        string[] clientArgs =
        [
            "--connect", $"127.0.0.1:{s.Port}", "--conns", Inv(conns), "--size", Inv(size),
            // The managed servers' warm-up for every server, C ones too: the same measured window.
            "--seconds", Sec(2), "--warmup", ManagedWarmup(), "--server-pid", Inv(s.Pid),
        ];
        Figures f = Runner.ParseJsonLine(Runner.Run(Path.Combine(p.NativeDir, "bench_echo_client"), clientArgs, ClientCore, timeoutSeconds: 120));
        s.Stop(stopSignal);
        return f;
    }

    private string ManagedExe(string project, string name) =>
        Path.Combine(p.Root, "managed", project, "bin", "Release", "net10.0", name);

    private static string SizeText(int size) => size >= 1024 ? $"{size / 1024} KiB" : $"{size} B";

    private static string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
}
