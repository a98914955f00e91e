using System.Diagnostics;

namespace IocpHybrid.Stress;

/// <summary>One sample of the process and the port.</summary>
internal readonly record struct Sample(TimeSpan Elapsed, long OpsEnded, long BytesVerified, long ResidentBytes, int Descriptors, long InFlight, long HandlesOpen, long GcHeapBytes, int Threads);

/// <summary>
/// Samples resident memory, descriptors, the port's statistics and the managed heap every few seconds,
/// prints a line per sample, watches for a stall, and at the end judges the trend.
/// </summary>
internal sealed class Sampler(StressContext ctx, TimeSpan interval)
{
    // No operation ending for this long while the load runs is a stall (a lost completion, a livelock):
    // every operation of the load is short; the longest waits are UDP's loss timeout (20 s).
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(60);

    private readonly List<Sample> _samples = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    internal IReadOnlyList<Sample> Samples => _samples;

    internal static string Header =>
        $"{"time",7} {"ops",12} {"ops/s",9} {"verified MiB",13} {"RSS MiB",8} {"fds",5} {"in flight",9} {"handles",7} {"GC heap MiB",11} {"pool threads",12}";

    internal Sample Take()
    {
        // A full blocking collection first: the heap figure is then the live data, not garbage, and a
        // managed leak shows as growth instead of hiding in the GC's budget.
        long heap = GC.GetTotalMemory(forceFullCollection: true);
        PortStatistics stats = ctx.Port.GetStatistics();
        var sample = new Sample(_clock.Elapsed, ctx.Ledger.TotalEnded(), ctx.Ledger.BytesVerified, ProcessProbe.ResidentBytes(), ProcessProbe.OpenDescriptors(), stats.OperationsInFlight, stats.HandlesOpen, heap, ThreadPool.ThreadCount);
        lock (_samples)
        {
            Sample? previous = _samples.Count > 0 ? _samples[^1] : null;
            _samples.Add(sample);
            Console.WriteLine(Format(sample, previous));
        }

        return sample;
    }

    internal static string Format(Sample s, Sample? previous)
    {
        double rate = previous is { } p && s.Elapsed > p.Elapsed ? (s.OpsEnded - p.OpsEnded) / (s.Elapsed - p.Elapsed).TotalSeconds : 0;
        return $"{s.Elapsed.TotalSeconds,6:F0}s {s.OpsEnded,12} {rate,9:F0} {s.BytesVerified / 1048576.0,13:F1} {s.ResidentBytes / 1048576.0,8:F1} {s.Descriptors,5} {s.InFlight,9} {s.HandlesOpen,7} {s.GcHeapBytes / 1048576.0,11:F1} {s.Threads,12}";
    }

    internal async Task RunAsync(CancellationToken stop)
    {
        bool stalled = false;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Take();
            long idle = Environment.TickCount64 - ctx.Ledger.LastProgressTicks;
            if (!stalled && idle > StallLimit.TotalMilliseconds)
            {
                stalled = true;
                ctx.Ledger.Fail($"stall: no operation ended for {idle / 1000} s");
            }
        }
    }

    // The trend test: the first third of the samples is warm-up (pools, the GC's heap and the
    // runtime's threads grow to their working size there); then the median of the last third may
    // exceed the median of the second third by at most this fraction. Medians, not maxima: a sample
    // taken while many connections, pipes and buffers happen to be open is an outlier, not a trend.
    // A leak of one small object per operation at this load's rate (thousands of operations a
    // second) grows memory by several percent per third of even a one-minute run, and descriptors by
    // far more than this; what stays below is noise (the load's open handles and live buffers vary
    // from sample to sample by a few percent of the total). A descriptor leak too small for the trend
    // is caught exactly by the end check: after everything is closed, no more descriptors than at the start.
    private const double Tolerance = 0.10;

    /// <summary>The trend verdicts: empty when flat, one line per quantity that grew.</summary>
    internal List<string> JudgeGrowth(out string summary)
    {
        var verdicts = new List<string>();
        int n = _samples.Count;
        if (n < 6)
        {
            summary = $"growth: {n} samples, too few to judge a trend (6 needed)";
            return verdicts;
        }

        Sample[] second = _samples.Skip(n / 3).Take((2 * n / 3) - (n / 3)).ToArray();
        Sample[] last = _samples.Skip(2 * n / 3).ToArray();
        var lines = new List<string>();
        Judge("RSS", s => s.ResidentBytes, v => $"{v / 1048576.0:F1} MiB", scale: null);
        Judge("descriptors", s => s.Descriptors, v => $"{v}", scale: null);

        // The managed heap is a small part of the process (a few MiB of live data): a few hundred KiB
        // more of pooled buffers in the last third is noise as a fraction of it, but would be a leak in
        // the making if it were the process's memory that grew. So its growth is measured against the
        // resident memory it is part of, with the same tolerance.
        Judge("GC heap", s => s.GcHeapBytes, v => $"{v / 1048576.0:F1} MiB", scale: Median(second.Select(s => s.ResidentBytes)));
        summary = "growth (median of the last third vs the second third, tolerance " + $"{Tolerance:P0}): " + string.Join("; ", lines);
        return verdicts;

        void Judge(string name, Func<Sample, long> value, Func<double, string> show, double? scale)
        {
            double a = Median(second.Select(value));
            double b = Median(last.Select(value));
            double change = a > 0 ? (b - a) / a : 0;
            lines.Add($"{name} {show(a)} -> {show(b)} ({change:+0.0%;-0.0%;0.0%})");
            if (b - a > Tolerance * (scale ?? a))
            {
                verdicts.Add($"growth: {name} grew from {show(a)} to {show(b)} ({change:P1}) between the second and the last third of the run");
            }
        }
    }

    private static double Median(IEnumerable<long> values)
    {
        long[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2.0;
    }
}
