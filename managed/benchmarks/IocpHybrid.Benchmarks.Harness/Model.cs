namespace IocpHybrid.Benchmarks.Harness;

/// <summary>Figures from one run of one contender: name → value (e.g. ops_per_sec, cpu_ns_per_op).</summary>
public sealed class Figures : Dictionary<string, double>
{
}

/// <summary>One contender of a case: a name and a runner that produces figures for one repetition.</summary>
/// <param name="Name">Shown in tables and the chart.</param>
/// <param name="Run">Runs once; throws <see cref="SkipException"/> when the contender can't run here.</param>
public sealed record Contender(string Name, Func<Figures> Run);

/// <summary>
/// A case: contenders measured interleaved (A B C A B C …) and compared on <paramref name="Metric"/>
/// as ratios to the contender named <paramref name="Baseline"/>. New kinds of work (TCP echo, idle
/// connections) are new cases with their own runners.
/// </summary>
public sealed record BenchCase(string Section, string Name, string Metric, bool HigherIsBetter, string Baseline, IReadOnlyList<Contender> Contenders)
{
    /// <summary>Runs once before the repetitions (e.g. warm the page cache).</summary>
    public Action? Setup { get; init; }

    /// <summary>Figures shown next to the metric in the table.</summary>
    public IReadOnlyList<string> Extra { get; init; } = [];

    /// <summary>Repetitions for this case (0: the harness's).</summary>
    public int Repetitions { get; init; }

    public string? Note { get; init; }
}

/// <summary>A contender that can't run on this machine (fio missing, not root, ...).</summary>
public sealed class SkipException(string message) : Exception(message);

/// <summary>Everything measured for one contender of one case.</summary>
public sealed class ContenderResult
{
    public required string Name { get; init; }
    public List<Figures> Runs { get; } = [];
    public string? Skipped { get; set; }
    public string? Error { get; set; }
    public double Min { get; set; }
    public double Median { get; set; }
    public double Max { get; set; }
    public double? Ratio { get; set; }
    public Dictionary<string, double> ExtraMedians { get; } = [];
}

public sealed class CaseResult
{
    public required string Section { get; init; }
    public required string Name { get; init; }
    public required string Metric { get; init; }
    public required bool HigherIsBetter { get; init; }
    public required string Baseline { get; init; }
    public string? Note { get; init; }
    public List<string> Extra { get; init; } = [];
    public List<ContenderResult> Contenders { get; } = [];

    /// <summary>The repetitions this case ran (some cases run more or fewer than the harness's).</summary>
    public int Repetitions { get; set; }

    /// <summary>A case counts as measured when every contender that was not skipped produced figures.</summary>
    public bool Ok => Contenders.Any(c => c.Runs.Count > 0) && Contenders.All(c => c.Skipped != null || (c.Error == null && c.Runs.Count > 0));
}
