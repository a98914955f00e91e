using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using IocpHybrid.Benchmarks.Micro;

// usage: IocpHybrid.Benchmarks.Micro alloc [--ops N]
//        IocpHybrid.Benchmarks.Micro bdn [--quick] [--artifacts DIR] [--filter GLOB]
if (args.Length > 0 && args[0] == "alloc")
{
    int i = Array.IndexOf(args, "--ops");
    long ops = i >= 0 ? long.Parse(args[i + 1], CultureInfo.InvariantCulture) : 1_000_000;
    return await Allocations.RunAsync(ops);
}

bool quick = args.Contains("--quick");
int a = Array.IndexOf(args, "--artifacts");
string artifacts = a >= 0 ? args[a + 1] : Path.Combine("artifacts", "bench", "bdn");
int f = Array.IndexOf(args, "--filter");

// In process (no generated project to build per benchmark): fast enough for the quick pass.
Job job = (quick ? Job.ShortRun.WithWarmupCount(2).WithIterationCount(3).WithLaunchCount(1) : Job.Default.WithIterationCount(15).WithWarmupCount(5))
    .WithToolchain(InProcessEmitToolchain.Instance);
var config = ManualConfig.CreateMinimumViable()
    .AddJob(job)
    .AddExporter(JsonExporter.Full)
    .WithArtifactsPath(artifacts);
string[] bdnArgs = f >= 0 ? ["--filter", args[f + 1]] : [];
var summary = BenchmarkRunner.Run<PortBenchmarks>(config, bdnArgs);
return summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success) ? 1 : 0;
