using System.Globalization;
using System.Text;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>One target of issue 5 as judged from this run.</summary>
/// <param name="Target">What the issue asks for.</param>
/// <param name="Ratio">The paired ratio (see <see cref="Targets"/>); null when the run did not measure it.</param>
/// <param name="Met">Whether it holds in this run; null when not measured.</param>
/// <param name="Detail">The per-repetition ratios and the two medians, or why it was not measured.</param>
public sealed record TargetResult(string Target, double? Ratio, bool? Met, string Detail);

/// <summary>
/// The targets of issue 5, judged from the figures of one run, so that a run says where the library
/// stands instead of a person reading ratios off the tables.
/// </summary>
/// <remarks>
/// Each target compares two contenders of one case. The ratio is the median of the per-repetition
/// ratios: the two runs of one repetition are neighbours in time (the harness interleaves A B C … A B
/// C …), so a drift of this shared machine between repetitions (the echo rates of one contender have
/// spanned 72k-102k within one run) cancels in each pair, where the ratio of two medians taken from
/// different repetitions keeps it. Benchmarks, not tests: nothing fails on a missed target.
/// </remarks>
public static class Targets
{
    private const string Echo64 = "1. TCP echo 64 connections x 64 B";
    private const string DirectDepth32 = "2. Files 4 KiB random read, depth 32, O_DIRECT";
    private const string CachedDepth32 = "2. Files 4 KiB random read, depth 32, page cache";
    private const string AllocationsSection = "4. Allocations";

    private const string Idle = "5. Idle connections";

    /// <summary>A over B of one figure must be at least (or at most) Bound.</summary>
    private sealed record Pair(string Target, string Case, string A, string B, string Figure, double Bound, bool AtLeast);

    private static readonly Pair[] Pairs =
    [
        new("TCP 64 x 64 B: C# (thread pool) >= 1.3x the round trips/s of System.Net.Sockets", Echo64,
            "IocpHybrid C# (thread pool)", "System.Net.Sockets", "round_trips_per_sec", 1.3, true),
        new("TCP 64 x 64 B: C# (inline) beats System.Net.Sockets (inline) in round trips/s", Echo64,
            "IocpHybrid C# (inline)", "System.Net.Sockets (inline)", "round_trips_per_sec", 1.0, true),
        new("TCP 64 x 64 B: C# (inline) server CPU per round trip <= 1.15x the C server's", Echo64,
            "IocpHybrid C# (inline)", "IocpHybrid C (echo_server)", "server_cpu_us_per_rt", 1.15, false),
        new("TCP 64 x 64 B: C server CPU per round trip <= 1.10x plain C epoll's", Echo64,
            "IocpHybrid C (echo_server)", "plain C epoll (floor)", "server_cpu_us_per_rt", 1.10, false),
        new("Files O_DIRECT depth 32: C# (thread pool) within 10% of fio io_uring", DirectDepth32,
            "IocpHybrid C# (thread pool)", "fio io_uring", "ops_per_sec", 0.9, true),
        new("Files O_DIRECT depth 32: C# (inline) within 10% of fio io_uring", DirectDepth32,
            "IocpHybrid C# (inline)", "fio io_uring", "ops_per_sec", 0.9, true),
        new("Files O_DIRECT depth 32: C# (thread pool) >= 2x RandomAccess in a short run right after a cache drop", DirectDepth32,
            "IocpHybrid C# (thread pool)", Cases.RaShortRun, "ops_per_sec", 2.0, true),
        new("Files O_DIRECT depth 32: C# (inline) >= 2x RandomAccess in a short run right after a cache drop", DirectDepth32,
            "IocpHybrid C# (inline)", Cases.RaShortRun, "ops_per_sec", 2.0, true),
        new("(not the issue's protocol, for reference) Files O_DIRECT depth 32: C# (thread pool) >= 2x RandomAccess after its 3 s warm-up (a grown thread pool)", DirectDepth32,
            "IocpHybrid C# (thread pool)", "RandomAccess.ReadAsync", "ops_per_sec", 2.0, true),
        new("(for reference) Files O_DIRECT depth 32: fio io_uring / RandomAccess after its warm-up: the most any io_uring reader gets here", DirectDepth32,
            "fio io_uring", "RandomAccess.ReadAsync", "ops_per_sec", 2.0, true),
        new("Files page cache depth 32: C# (thread pool) >= 1.0x RandomAccess", CachedDepth32,
            "IocpHybrid C# (thread pool)", "RandomAccess.ReadAsync", "ops_per_sec", 1.0, true),
        new("Files page cache depth 32: C# (inline) >= 1.0x RandomAccess", CachedDepth32,
            "IocpHybrid C# (inline)", "RandomAccess.ReadAsync", "ops_per_sec", 1.0, true),
        new("Files page cache depth 32: C (pull) >= fio io_uring", CachedDepth32,
            "IocpHybrid C (pull)", "fio io_uring", "ops_per_sec", 1.0, true),
        new("Files page cache depth 32: C (push) >= fio io_uring", CachedDepth32,
            "IocpHybrid C (push)", "fio io_uring", "ops_per_sec", 1.0, true),

        // The epoll backend (issue 16).
        new("epoll backend, TCP 64 x 64 B: C server CPU per round trip <= 1.10x plain C epoll's", Echo64,
            Cases.EpollC, "plain C epoll (floor)", "server_cpu_us_per_rt", 1.10, false),
        new("epoll backend, TCP 64 x 64 B: C# (thread pool) >= 1.3x the round trips/s of System.Net.Sockets", Echo64,
            Cases.EpollThreadPool, "System.Net.Sockets", "round_trips_per_sec", 1.3, true),
        new("epoll backend, TCP 64 x 64 B: C# (inline) >= 1.0x System.Net.Sockets (inline) in round trips/s", Echo64,
            Cases.EpollInline, "System.Net.Sockets (inline)", "round_trips_per_sec", 1.0, true),
        new("epoll backend, Files page cache depth 32: C# (thread pool) >= 0.9x RandomAccess", CachedDepth32,
            Cases.EpollFilesThreadPool, "RandomAccess.ReadAsync", "ops_per_sec", 0.9, true),
        new("epoll backend, Files page cache depth 32: C# (inline) >= 0.9x RandomAccess", CachedDepth32,
            Cases.EpollFilesInline, "RandomAccess.ReadAsync", "ops_per_sec", 0.9, true),

        // The Kestrel transport (issue 19).
        new("HTTP GET /plaintext, 64 connections: the transport >= 1.2x the requests/s of Kestrel's default sockets transport", "7. HTTP GET /plaintext, 64 connections",
            Cases.HttpTransport, Cases.HttpSockets, "requests_per_sec", 1.2, true),
        new("HTTP GET /plaintext, 64 connections: the transport (inline) <= 0.9x the server CPU per request of Kestrel sockets (inline)", "7. HTTP GET /plaintext, 64 connections",
            Cases.HttpTransportInline, Cases.HttpSocketsInline, "server_cpu_us_per_req", 0.9, false),
        new("HTTP GET /plaintext, 512 connections: the transport >= 1.2x the requests/s of Kestrel's default sockets transport", "7. HTTP GET /plaintext, 512 connections",
            Cases.HttpTransport, Cases.HttpSockets, "requests_per_sec", 1.2, true),
        new("HTTP GET /plaintext, 512 connections: the transport (inline) <= 0.9x the server CPU per request of Kestrel sockets (inline)", "7. HTTP GET /plaintext, 512 connections",
            Cases.HttpTransportInline, Cases.HttpSocketsInline, "server_cpu_us_per_req", 0.9, false),
        new("HTTP GET /json, 64 connections: the transport >= 1.2x the requests/s of Kestrel's default sockets transport", "7. HTTP GET /json, 64 connections",
            Cases.HttpTransport, Cases.HttpSockets, "requests_per_sec", 1.2, true),
        new("HTTP GET /json, 64 connections: the transport (inline) <= 0.9x the server CPU per request of Kestrel sockets (inline)", "7. HTTP GET /json, 64 connections",
            Cases.HttpTransportInline, Cases.HttpSocketsInline, "server_cpu_us_per_req", 0.9, false),
        new("HTTP GET /json, 512 connections: the transport >= 1.2x the requests/s of Kestrel's default sockets transport", "7. HTTP GET /json, 512 connections",
            Cases.HttpTransport, Cases.HttpSockets, "requests_per_sec", 1.2, true),
        new("HTTP GET /json, 512 connections: the transport (inline) <= 0.9x the server CPU per request of Kestrel sockets (inline)", "7. HTTP GET /json, 512 connections",
            Cases.HttpTransportInline, Cases.HttpSocketsInline, "server_cpu_us_per_req", 0.9, false),
    ];

    /// <summary>The targets this run measured (cases left out by --filter are left out here too).</summary>
    public static List<TargetResult> Judge(IReadOnlyList<CaseResult> results)
    {
        var judged = new List<TargetResult>();
        foreach (Pair pair in Pairs)
        {
            CaseResult? c = results.FirstOrDefault(r => $"{r.Section} {r.Name}".StartsWith(pair.Case, StringComparison.Ordinal));
            if (c != null)
            {
                judged.Add(JudgePair(pair, c));
            }
        }

        CaseResult? idle = results.FirstOrDefault(r => r.Section == Idle);
        if (idle != null)
        {
            judged.Add(JudgeAtMost("Idle connection with a wait-for-data receive pending, C# server: <= 1 KiB per connection (native and managed)",
                idle, Cases.IdlePortWait, "rss_bytes_per_conn", 1024));
        }

        CaseResult? alloc = results.FirstOrDefault(r => r.Section == AllocationsSection);
        if (alloc != null)
        {
            judged.Add(JudgeAllocations(alloc));
        }

        return judged;
    }

    private static TargetResult JudgePair(Pair pair, CaseResult c)
    {
        ContenderResult? a = c.Contenders.FirstOrDefault(x => x.Name == pair.A);
        ContenderResult? b = c.Contenders.FirstOrDefault(x => x.Name == pair.B);
        string? missing = Missing(a, pair.A) ?? Missing(b, pair.B);
        if (missing != null)
        {
            return new TargetResult(pair.Target, null, null, missing);
        }

        // Runs of one repetition sit at the same index as long as neither contender failed in between
        // (a contender that fails is not run again, so its list only gets shorter at the end).
        var ratios = new List<double>();
        int n = Math.Min(a!.Runs.Count, b!.Runs.Count);
        for (int i = 0; i < n; i++)
        {
            if (a.Runs[i].TryGetValue(pair.Figure, out double va) && b.Runs[i].TryGetValue(pair.Figure, out double vb) && vb > 0)
            {
                ratios.Add(va / vb);
            }
        }

        if (ratios.Count == 0)
        {
            return new TargetResult(pair.Target, null, null, $"no {pair.Figure} in both contenders' runs");
        }

        double ratio = Median(ratios);
        bool met = pair.AtLeast ? ratio >= pair.Bound : ratio <= pair.Bound;
        string perRep = string.Join(", ", ratios.Select(r => F(r)));
        string detail = $"{pair.Figure} {pair.A} / {pair.B} per repetition: {perRep}; medians {Report.Fmt(MedianOf(a, pair.Figure))} / {Report.Fmt(MedianOf(b, pair.Figure))}";
        return new TargetResult(pair.Target, ratio, met, detail);
    }

    /// <summary>One contender's median of one figure against an absolute bound.</summary>
    private static TargetResult JudgeAtMost(string target, CaseResult c, string contender, string figure, double bound)
    {
        ContenderResult? x = c.Contenders.FirstOrDefault(r => r.Name == contender);
        string? missing = Missing(x, contender);
        if (missing != null)
        {
            return new TargetResult(target, null, null, missing);
        }

        double median = MedianOf(x!, figure);
        string runs = string.Join(", ", x!.Runs.Where(f => f.ContainsKey(figure)).Select(f => Report.Fmt(f[figure])));
        return new TargetResult(target, median / bound, median <= bound, $"{figure} of {contender} per repetition: {runs}; median {Report.Fmt(median)} against {Report.Fmt(bound)}");
    }

    /// <summary>0 bytes per operation: below 1 byte per operation means no operation allocates (the
    /// smallest object is 24 bytes); what remains is the runtime's own, spread over the million.</summary>
    private static TargetResult JudgeAllocations(CaseResult c)
    {
        const string Target = "0 bytes allocated per operation in steady state, every operation kind";
        var measured = c.Contenders.Where(x => x.Runs.Count > 0).ToList();
        if (measured.Count == 0)
        {
            return new TargetResult(Target, null, null, "no contender produced figures");
        }

        double worst = measured.Max(x => x.Median);
        var allocating = measured.Where(x => x.Median >= 1).Select(x => $"{x.Name} {Report.Fmt(x.Median)} B/op").ToList();
        int unmeasured = c.Contenders.Count - measured.Count;
        string detail = allocating.Count == 0
            ? $"{measured.Count} kinds, the most {Report.Fmt(worst)} B/op (under 1 B/op: no operation allocates)"
            : "allocating: " + string.Join(", ", allocating);
        if (unmeasured > 0)
        {
            detail += $"; {unmeasured} kind(s) not measured";
        }

        return new TargetResult(Target, worst, allocating.Count == 0 && unmeasured == 0, detail);
    }

    private static string? Missing(ContenderResult? c, string name) =>
        c == null ? $"no contender '{name}'"
        : c.Runs.Count == 0 ? $"'{name}' {(c.Skipped != null ? "skipped: " + c.Skipped : "failed: " + c.Error)}"
        : null;

    private static double MedianOf(ContenderResult c, string figure) =>
        Median(c.Runs.Where(f => f.ContainsKey(figure)).Select(f => f[figure]).ToList());

    private static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        double[] v = [.. values.Order()];
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>The targets as a Markdown table.</summary>
    public static string Markdown(IReadOnlyList<TargetResult> targets)
    {
        var sb = new StringBuilder();
        sb.AppendLine("## Targets (issues 5, 16 and 19)").AppendLine();
        sb.AppendLine("Ratio = the median of the per-repetition ratios of the two contenders (the runs of one repetition are neighbours in time, so the machine's drift between repetitions cancels). Benchmarks, not tests: a miss fails nothing.").AppendLine();
        sb.AppendLine("| target | ratio | met | how |");
        sb.AppendLine("| --- | ---: | --- | --- |");
        foreach (TargetResult t in targets)
        {
            string ratio = t.Ratio is double r ? (t.Target.StartsWith('0') ? Report.Fmt(r) + " B/op" : F(r) + "×") : "";
            string met = t.Met switch { true => "yes", false => "**no**", null => "not measured" };
            sb.AppendLine($"| {t.Target} | {ratio} | {met} | {t.Detail} |");
        }

        sb.AppendLine();
        return sb.ToString();
    }
}
