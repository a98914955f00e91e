using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using IocpHybrid.Benchmarks.Micro;

// usage: IocpHybrid.Benchmarks.Micro alloc [--ops N] [--only NAME] [--types]
//        IocpHybrid.Benchmarks.Micro post [--window N] [--seconds S] [--inline]
//        IocpHybrid.Benchmarks.Micro bdn [--quick] [--artifacts DIR] [--filter GLOB]
string? Get(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
if (args.Length > 0 && args[0] == "alloc")
{
    long ops = long.Parse(Get("--ops") ?? "1000000", CultureInfo.InvariantCulture);
    return await Allocations.RunAsync(ops, Get("--only"), args.Contains("--types"));
}

if (args.Length > 0 && args[0] == "post")
{
    return await PostThroughput.RunAsync(int.Parse(Get("--window") ?? "1", CultureInfo.InvariantCulture),
        double.Parse(Get("--seconds") ?? "2", CultureInfo.InvariantCulture), args.Contains("--inline"));
}

bool quick = args.Contains("--quick");
int a = Array.IndexOf(args, "--artifacts");
string artifacts = a >= 0 ? args[a + 1] : Path.Combine("artifacts", "bench", "bdn");
int f = Array.IndexOf(args, "--filter");

// In process (no generated project to build per benchmark): fast enough for the quick pass.
Job job = (quick ? Job.ShortRun.WithWarmupCount(1).WithIterationCount(3).WithLaunchCount(1).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(100)) : Job.Default.WithIterationCount(15).WithWarmupCount(5))
    .WithToolchain(InProcessEmitToolchain.Instance);
var config = ManualConfig.CreateMinimumViable()
    .AddJob(job)
    .AddExporter(JsonExporter.Full)
    .WithArtifactsPath(artifacts);
string[] bdnArgs = f >= 0 ? ["--filter", args[f + 1]] : [];
var summary = BenchmarkRunner.Run<PortBenchmarks>(config, bdnArgs);
return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;
