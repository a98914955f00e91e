using System.Globalization;
using System.Text.RegularExpressions;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// Section 7 (issue 19): HTTP through Kestrel. The sample web app (managed/samples/WebApp) serves
/// GET /plaintext and GET /json on CPU 0, on the IocpHybrid transport or on Kestrel's own sockets
/// transport, and wrk (Debian's) loads it from CPU 1 over keep-alive connections. The server's CPU
/// time per request is read from /proc/PID/stat around wrk's measured run.
/// </summary>
public sealed partial class Cases
{
    internal const string HttpSockets = "Kestrel sockets";
    internal const string HttpSocketsInline = "Kestrel sockets (inline)";
    internal const string HttpTransport = "IocpHybrid transport";
    internal const string HttpTransportInline = "IocpHybrid transport (inline)";

    private static readonly string[] HttpEndpoints = ["plaintext", "json"];
    private static readonly int[] HttpConnections = [64, 512];

    private IEnumerable<BenchCase> Http()
    {
        foreach (string endpoint in HttpEndpoints)
        {
            foreach (int conns in HttpConnections)
            {
                yield return HttpCase(endpoint, conns);
                if (o.Quick)
                {
                    // The smoke pass (CI) proves the case runs: one case, once (every run starts a
                    // web app and runs wrk for whole seconds).
                    yield break;
                }
            }
        }
    }

    private BenchCase HttpCase(string endpoint, int conns)
    {
        string app = ManagedExe(Path.Combine("samples", "WebApp"), "WebApp");

        // As in the echo case: the sockets contenders' inline switch comes from the environment, and
        // the default ones must not inherit it from whoever runs the harness.
        var plain = new Dictionary<string, string?> { [InlineSocketsVar] = null };
        var socketsInline = new Dictionary<string, string?> { [InlineSocketsVar] = "1" };
        var epoll = new Dictionary<string, string?> { [InlineSocketsVar] = null, [EpollBackendVar] = "epoll" };
        Figures Run(string[] args, Dictionary<string, string?> env) => HttpRun(app, args, env, endpoint, conns);

        var contenders = new List<Contender>
        {
            new(HttpSockets, () => Run(["--transport", "sockets"], plain)),
            new(HttpTransport, () => Run(["--transport", "iocphybrid"], plain)),
            new(HttpSocketsInline, () => Run(["--transport", "sockets", "--inline"], socketsInline)),
            new(HttpTransportInline, () => Run(["--transport", "iocphybrid", "--inline"], plain)),
        };
        if (endpoint == "plaintext" && conns == 64)
        {
            // The transport where io_uring is refused, in one case (a full run stays within its time).
            contenders.Add(new(HttpTransport + " (epoll backend)", () => Run(["--transport", "iocphybrid"], epoll)));
            contenders.Add(new(HttpTransportInline + " (epoll backend)", () => Run(["--transport", "iocphybrid", "--inline"], epoll)));
        }

        return new BenchCase("7. HTTP", $"GET /{endpoint}, {conns} connections", "requests_per_sec", true, HttpSockets, contenders)
        {
            Extra = ["server_cpu_us_per_req", "p50_ms", "p99_ms", "warmup_s", "jit_methods_measured"],
            Repetitions = o.Quick ? 1 : 0,
            Note = $"Kestrel serving managed/samples/WebApp (minimal API, GET /{endpoint}) on CPU 0 (taskset -c 0), a fresh server per run; " +
                   $"wrk -t1 -c{conns} on CPU 1 over keep-alive connections: a warm-up of {HttpWarmupRoundText()} wrk runs until the server's JIT is quiet (warmup_s), then {WrkSeconds(Sec(5))} s measured " +
                   "(a run with a non-2xx response or a socket error fails). server_cpu_us_per_req = the server's utime+stime (/proc/PID/stat, all threads) " +
                   "per request over the measured run; jit_methods_measured = methods the server's JIT compiled during it (the web app's GET /jit before and after). 'IocpHybrid transport' = builder.WebHost.UseIocpHybrid(); 'Kestrel sockets' = UseSockets(), Kestrel's default; " +
                   $"'inline' = UnsafePreferInlineScheduling on either transport, and {InlineSocketsVar}=1 for the sockets one; " +
                   $"'epoll backend' = {EpollBackendVar}=epoll.",
        };
    }

    /// <summary>One repetition: the web app up on CPU 0, wrk's warm-up and measured run from CPU 1, the app stopped with SIGTERM.</summary>
    private Figures HttpRun(string app, string[] appArgs, IReadOnlyDictionary<string, string?> env, string endpoint, int conns)
    {
        RequireServerAndLoadCores("wrk");
        if (!Runner.HasTool("wrk"))
        {
            throw new SkipException("wrk is not installed (apt-get install wrk)");
        }

        using ServerProcess s = ServerProcess.Start(app, [.. appArgs, "--urls", "http://127.0.0.1:0"], ServerCore, env);
        string url = $"http://127.0.0.1:{s.Port}/{endpoint}";
        int warmupSeconds = WarmUp(url, conns, s.Port);
        long jitBefore = JitCompiledMethods(s.Port);
        double cpuBefore = ProcessCpuSeconds(s.Pid);
        WrkResult measured = Wrk(url, conns, Sec(5), latency: true);
        double cpuAfter = ProcessCpuSeconds(s.Pid);
        long jitAfter = JitCompiledMethods(s.Port);
        s.Stop();
        return new Figures
        {
            ["requests_per_sec"] = measured.RequestsPerSecond,
            ["server_cpu_us_per_req"] = (cpuAfter - cpuBefore) * 1e6 / Math.Max(1, measured.Requests),
            ["p50_ms"] = measured.P50Milliseconds,
            ["p99_ms"] = measured.P99Milliseconds,
            ["warmup_s"] = warmupSeconds,
            ["jit_methods_measured"] = jitAfter - jitBefore,
        };
    }

    // The warm-up before a measured HTTP run. Under this load on one core, tiered compilation takes
    // 30-50 s to settle on either transport: the JIT compiles Kestrel's and the library's hot methods at
    // tier 0, then instrumented, then tier 1, in batches while serving, and the methods a new connection
    // runs move up a tier each time wrk reconnects. After 3 s of wrk (the warm-up until session 15),
    // 15-20 % of the server's samples were still in instrumented code; after a 30-s run the JIT still
    // compiled ~450 methods during the measured 5 s (docs/benchmarks.md, section 7, reading 8). So the
    // warm-up is rounds of wrk, each with new connections, until a round in which the JIT compiled
    // fewer than HttpQuietRoundMethods methods (at least HttpMinWarmupRounds, at most HttpMaxWarmupRounds):
    // a server is judged on the code it runs for hours.
    private const int HttpWarmupRoundSeconds = 10;
    private const int HttpMinWarmupRounds = 3;
    private const int HttpMaxWarmupRounds = 6;
    private const int HttpQuietRoundMethods = 50;

    private string HttpWarmupRoundText() => o.Quick
        ? "one 0.2-s run (smoke pass)"
        : $"{HttpMinWarmupRounds}-{HttpMaxWarmupRounds} {HttpWarmupRoundSeconds}-s";

    /// <summary>Warms the server up (see above); returns the seconds of load it took.</summary>
    private int WarmUp(string url, int conns, int port)
    {
        if (o.Quick)
        {
            Wrk(url, conns, "0.2", latency: false);
            return 1;
        }

        long before = JitCompiledMethods(port);
        for (int round = 1; ; round++)
        {
            Wrk(url, conns, Inv(HttpWarmupRoundSeconds), latency: false);
            long after = JitCompiledMethods(port);
            bool quiet = after - before < HttpQuietRoundMethods;
            if ((round >= HttpMinWarmupRounds && quiet) || round == HttpMaxWarmupRounds)
            {
                return round * HttpWarmupRoundSeconds;
            }

            before = after;
        }
    }

    /// <summary>Methods the web app's JIT has compiled so far (its GET /jit: "methods=N ms=M").</summary>
    private static long JitCompiledMethods(int port)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string body = client.GetStringAsync($"http://127.0.0.1:{port}/jit").GetAwaiter().GetResult();
        Match m = JitMethods().Match(body);
        return m.Success
            ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : throw new InvalidOperationException($"no method count in the web app's GET /jit: {body}");
    }

    private readonly record struct WrkResult(long Requests, double RequestsPerSecond, double P50Milliseconds, double P99Milliseconds);

    private static WrkResult Wrk(string url, int conns, string seconds, bool latency)
    {
        string duration = WrkSeconds(seconds) + "s";
        string[] args = ["-t1", $"-c{conns}", $"-d{duration}", "--timeout", "10s", .. latency ? new[] { "--latency" } : [], url];
        string output = Runner.Run("wrk", args, ClientCore, timeoutSeconds: 120);
        Match errors = WrkSocketErrors().Match(output);
        if (WrkNon2xx().IsMatch(output) || (errors.Success && errors.Groups.Cast<Group>().Skip(1).Any(g => g.Value != "0")))
        {
            throw new InvalidOperationException($"wrk saw failed requests: {output.Trim()}");
        }

        Match total = WrkTotal().Match(output);
        Match rps = WrkRequestsPerSec().Match(output);
        if (!total.Success || !rps.Success)
        {
            throw new InvalidOperationException($"no figures in wrk's output: {output.Trim()}");
        }

        return new WrkResult(
            long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture),
            double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture),
            latency ? Percentile(output, "50") : 0,
            latency ? Percentile(output, "99") : 0);
    }

    // wrk counts in whole seconds (its units are s, m and h): a smoke pass's fraction becomes 1 s.
    private static string WrkSeconds(string seconds) => Inv((int)Math.Max(1, Math.Ceiling(double.Parse(seconds, CultureInfo.InvariantCulture))));

    /// <summary>"     99%    5.67ms" of wrk's --latency distribution, in milliseconds.</summary>
    private static double Percentile(string output, string percent)
    {
        Match m = Regex.Match(output, $@"^\s*{percent}(?:\.0+)?%\s+([0-9.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success)
        {
            throw new InvalidOperationException($"no {percent}% latency in wrk's output");
        }

        double value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => value / 1000, "ms" => value, _ => value * 1000 };
    }

    /// <summary>utime + stime of a process, all its threads (fields 14 and 15 of /proc/PID/stat, after the command name).</summary>
    private static double ProcessCpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / (double)ClockTicksPerSecond;
    }

    // USER_HZ: 100 on every Linux the project runs on (x86_64 and arm64 kernels export 100 to user space).
    private const int ClockTicksPerSecond = 100;

    [GeneratedRegex(@"^\s*(\d+) requests in ", RegexOptions.Multiline)]
    private static partial Regex WrkTotal();

    [GeneratedRegex(@"^Requests/sec:\s+([0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex WrkRequestsPerSec();

    [GeneratedRegex(@"methods=(\d+)")]
    private static partial Regex JitMethods();

    [GeneratedRegex(@"Non-2xx or 3xx responses")]
    private static partial Regex WrkNon2xx();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex WrkSocketErrors();
}
