using System.Globalization;

namespace IocpHybrid.Stress;

/// <summary>One run: the port, the workloads, the sampler, and the verdict.</summary>
internal sealed class StressRun(TimeSpan duration, TimeSpan interval, long seed)
{
    // Once the load is told to stop, each lane finishes its round (a connection, a pipe, a UDP round:
    // seconds at most, UDP's loss timeout of 20 s being the longest wait) and closes what it opened.
    // Not done within this: an operation never completed, which the books then show by kind.
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(90);

    internal async Task<int> RunAsync()
    {
        LimitThreadPool();
        Console.WriteLine($"seed {seed} (reproduce the choices with --seed {seed}); {duration.TotalMinutes:0.##} min, a sample every {interval.TotalSeconds:0.#} s");
        string scratch = Path.Combine(Path.GetTempPath(), $"iocph-stress-{Environment.ProcessId}");
        Directory.CreateDirectory(scratch);
        var ledger = new Ledger();
        var verdicts = new List<string>();

        int descriptorsBefore = ProcessProbe.OpenDescriptors();
        List<string> targetsBefore = ProcessProbe.DescriptorTargets();
        var port = new CompletionPort();
        string? requested = Environment.GetEnvironmentVariable("IOCPH_BACKEND");
        Console.WriteLine($"backend {port.BackendName} ({port.BackendReasonMessage}); IOCPH_BACKEND={requested ?? "(unset)"}");
        if (!string.IsNullOrEmpty(requested) && requested != "default" && requested != port.BackendName)
        {
            Console.Error.WriteLine($"FAIL: IOCPH_BACKEND={requested} but the port runs {port.BackendName}");
            return 1;
        }

        var ctx = new StressContext(port, ledger, seed, scratch);
        var sampler = new Sampler(ctx, interval);
        Console.WriteLine(Sampler.Header);
        Sample first = sampler.Take();

        using var stop = new CancellationTokenSource(duration);
        using var stopSampling = new CancellationTokenSource();
        Task sampling = Task.Run(() => sampler.RunAsync(stopSampling.Token));
        Task load = Task.WhenAll(
            Task.Run(() => new FileWorkload(ctx, files: 2, lanesPerFile: 4).RunAsync(stop.Token)),
            Task.Run(() => new TcpWorkload(ctx, clientLanes: 4).RunAsync(stop.Token)),
            Task.Run(() => new PipeWorkload(ctx, lanes: 2).RunAsync(stop.Token)),
            Task.Run(() => new UdpWorkload(ctx, lanes: 2).RunAsync(stop.Token)),
            Task.Run(() => new PostWorkload(ctx, lanes: 1).RunAsync(stop.Token)));
        try
        {
            await load.WaitAsync(duration + DrainLimit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"FAIL: the load did not finish within {DrainLimit.TotalSeconds} s of the stop; operations not ended:");
            PrintBooks(ledger, Console.Error);
            Console.Error.WriteLine($"port: {port.GetStatistics()}");
            PrintResult(false, ledger, first, sampler.Samples[^1], descriptorsBefore, -1, port.BackendName);
            Console.Out.Flush();
            Environment.Exit(1);
        }

        stopSampling.Cancel();
        await sampling.ConfigureAwait(false);

        // Everything the load opened is closed and every operation it started has ended.
        Sample last = sampler.Take();
        foreach (OpKind kind in Enum.GetValues<OpKind>())
        {
            if (ledger.Started(kind) != ledger.Ended(kind))
            {
                verdicts.Add($"exactly once: {kind}: {ledger.Started(kind)} started, {ledger.Ended(kind)} ended");
            }
        }

        PortStatistics stats = port.GetStatistics();
        if (stats.OperationsInFlight != 0)
        {
            verdicts.Add($"the port reports {stats.OperationsInFlight} operations in flight after the load ended ({stats})");
        }

        if (stats.HandlesOpen != 0)
        {
            verdicts.Add($"the port reports {stats.HandlesOpen} handles open after the load closed all of its own ({stats})");
        }

        await port.DisposeAsync().ConfigureAwait(false);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int descriptorsAfter = ProcessProbe.OpenDescriptors();
        if (descriptorsAfter > descriptorsBefore)
        {
            List<string> extra = ProcessProbe.DescriptorTargets();
            foreach (string target in targetsBefore)
            {
                extra.Remove(target);
            }

            verdicts.Add($"descriptors: {descriptorsBefore} before the port was created, {descriptorsAfter} after it and everything of the load was closed; new: {string.Join(", ", extra)}");
        }

        try
        {
            Directory.Delete(scratch, recursive: true);
        }
        catch (IOException ex)
        {
            verdicts.Add($"the scratch directory could not be removed: {ex.Message}");
        }

        verdicts.AddRange(sampler.JudgeGrowth(out string growth));
        verdicts.AddRange(ledger.Failures.Select(f => $"verification: {f}"));
        if (ledger.TotalEnded() == 0 || ledger.BytesVerified == 0)
        {
            verdicts.Add("nothing was verified");
        }

        Console.WriteLine();
        PrintBooks(ledger, Console.Out);
        Console.WriteLine();
        PrintTable(sampler.Samples);
        Console.WriteLine();
        Console.WriteLine(growth);
        foreach (string v in verdicts.Take(50))
        {
            Console.WriteLine($"FAIL: {v}");
        }

        if (verdicts.Count > 50)
        {
            Console.WriteLine($"FAIL: ... and {verdicts.Count - 50} more");
        }

        PrintResult(verdicts.Count == 0, ledger, first, last, descriptorsBefore, descriptorsAfter, port.BackendName);
        return verdicts.Count == 0 ? 0 : 1;
    }

    /// <summary>
    /// Every lane awaits; none blocks a thread, so the load needs about one pool thread per core. On a
    /// machine busier than its cores the pool takes the slow progress for blocked threads and adds one
    /// every half second or so, without end, and each thread's stack and per-thread caches (ArrayPool,
    /// pooled async state machines) then read as growth of RSS and of the managed heap that has nothing
    /// to do with the library. A ceiling of four per core stops that and leaves room for a thread that a
    /// closing handle or a continuation holds for a moment; should the library ever block pool threads
    /// for real, the load then stalls, and the stall watchdog fails the run instead of memory growing.
    /// </summary>
    private static void LimitThreadPool()
    {
        ThreadPool.GetMaxThreads(out _, out int io);
        ThreadPool.GetMinThreads(out int minWorkers, out _);
        int ceiling = Math.Max(minWorkers, 4 * Environment.ProcessorCount);
        if (!ThreadPool.SetMaxThreads(ceiling, io))
        {
            throw new InvalidOperationException($"the thread pool refused a ceiling of {ceiling} workers");
        }
    }

    private static void PrintBooks(Ledger ledger, TextWriter to)
    {
        to.WriteLine($"{"operation",-11} {"started",11} {"ended",11} {"ok",11} {"canceled",9} {"timed out",9} {"closed",8} {"error",6}");
        foreach (OpKind kind in Enum.GetValues<OpKind>())
        {
            to.WriteLine($"{kind,-11} {ledger.Started(kind),11} {ledger.Ended(kind),11} {ledger.Ended(kind, Outcome.Ok),11} {ledger.Ended(kind, Outcome.Canceled),9} {ledger.Ended(kind, Outcome.TimedOut),9} {ledger.Ended(kind, Outcome.Closed),8} {ledger.Ended(kind, Outcome.Error),6}");
        }
    }

    /// <summary>About a dozen samples spread over the run, as a Markdown table (docs/stress.md keeps them).</summary>
    private static void PrintTable(IReadOnlyList<Sample> samples)
    {
        Console.WriteLine("| time | ops ended | verified MiB | RSS MiB | fds | in flight | GC heap MiB | pool threads |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        int step = Math.Max(1, (samples.Count - 1) / 12);
        for (int i = 0; i < samples.Count; i += step)
        {
            Row(samples[i]);
        }

        if ((samples.Count - 1) % step != 0)
        {
            Row(samples[^1]);
        }

        static void Row(Sample s) => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {s.Elapsed.TotalMinutes:F1} min | {s.OpsEnded} | {s.BytesVerified / 1048576.0:F0} | {s.ResidentBytes / 1048576.0:F1} | {s.Descriptors} | {s.InFlight} | {s.GcHeapBytes / 1048576.0:F1} | {s.Threads} |"));
    }

    /// <summary>The last line, which scripts/Stress.ps1 reads.</summary>
    private static void PrintResult(bool passed, Ledger ledger, Sample first, Sample last, int descriptorsBefore, int descriptorsAfter, string backend) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"STRESS {(passed ? "PASSED" : "FAILED")} backend={backend} ops={ledger.TotalEnded()} items={ledger.ItemsVerified} bytes={ledger.BytesVerified} failures={ledger.FailureCount} rss_start_mib={first.ResidentBytes / 1048576.0:F1} rss_end_mib={last.ResidentBytes / 1048576.0:F1} fds_before={descriptorsBefore} fds_start={first.Descriptors} fds_end={last.Descriptors} fds_after={descriptorsAfter}"));
}
