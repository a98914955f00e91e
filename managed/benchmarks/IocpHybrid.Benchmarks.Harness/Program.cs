using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using IocpHybrid.Benchmarks.Harness;

// ./build.sh bench [--quick] [--seconds N] [--filter TEXT] [--reps N]: see Options.Usage.
Options o;
try
{
    o = Options.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(Options.Usage);
    return 2;
}

if (o.Help)
{
    Console.WriteLine(Options.Usage);
    return 0;
}

var paths = Paths.Find(o);
Directory.CreateDirectory(paths.OutDir);
paths.EnsureDataFile(o.Quick ? 128L << 20 : 1L << 30);

var machine = Machine.Describe();
Console.WriteLine($"machine: {machine.Cores} cores, {machine.Cpu}, Linux {machine.Kernel}, {machine.Dotnet}; data file {paths.DataFile} ({new FileInfo(paths.DataFile).Length >> 20} MiB)");
var results = new List<CaseResult>();
foreach (BenchCase bc in new Cases(o, paths).All())
{
    string full = $"{bc.Section} {bc.Name}";
    if (o.Filter != null && !o.Filter.Split('|').Any(f => full.Contains(f, StringComparison.OrdinalIgnoreCase)))
    {
        continue;
    }

    Console.WriteLine($"== {full}");
    var cr = new CaseResult { Section = bc.Section, Name = bc.Name, Metric = bc.Metric, HigherIsBetter = bc.HigherIsBetter, Baseline = bc.Baseline, Note = bc.Note, Extra = [.. bc.Extra] };
    foreach (var c in bc.Contenders)
    {
        cr.Contenders.Add(new ContenderResult { Name = c.Name });
    }

    results.Add(cr);
    try
    {
        bc.Setup?.Invoke();
    }
    catch (Exception ex)
    {
        foreach (var c in cr.Contenders) { c.Error = "setup: " + ex.Message; }
        continue;
    }

    int reps = bc.Repetitions > 0 ? bc.Repetitions : o.Repetitions;
    cr.Repetitions = reps;
    for (int r = 0; r < reps; r++)
    {
        // Interleaved: A B C … then A B C … again, so drift hits every contender alike.
        for (int i = 0; i < bc.Contenders.Count; i++)
        {
            var res = cr.Contenders[i];
            if (res.Skipped != null || res.Error != null)
            {
                continue;
            }

            try
            {
                Figures f = bc.Contenders[i].Run();
                res.Runs.Add(f);
                Console.WriteLine($"   [{r + 1}/{reps}] {res.Name,-42} {bc.Metric} {Fmt(f.GetValueOrDefault(bc.Metric))}");
            }
            catch (SkipException ex)
            {
                res.Skipped = ex.Message;
                Console.WriteLine($"   {res.Name,-48} skipped: {ex.Message}");
            }
            catch (Exception ex)
            {
                res.Error = ex.Message;
                Console.WriteLine($"   {res.Name,-48} FAILED: {ex.Message}");
            }
        }
    }

    Summarize(cr);
}

// Under Wine the figures are Wine's, not Windows': no target is judged on them.
List<TargetResult> targets = o.Wine ? [] : Targets.Judge(results);
string md = Report.Markdown(results, machine, o) + (o.Wine ? "Targets: not judged under Wine (a smoke pass: Wine proves the API, not Windows speed).\n" : Targets.Markdown(targets));
Console.WriteLine();
Console.WriteLine(md);
File.WriteAllText(Path.Combine(paths.OutDir, "results.md"), md);
File.WriteAllText(Path.Combine(paths.OutDir, "results.json"), JsonSerializer.Serialize(new { machine, command = o.CommandLine, cases = results, targets }, new JsonSerializerOptions { WriteIndented = true }));
Chart.Write(Path.Combine(paths.OutDir, "ratios.png"), results);
Console.WriteLine($"written: {Path.Combine(paths.OutDir, "results.md")}, results.json, ratios.png");

var failed = results.Where(r => !r.Ok).ToList();
foreach (var f in failed)
{
    Console.WriteLine($"no figures: {f.Section} {f.Name}");
}

int skippedCases = results.Count(r => r.Contenders.All(c => c.Skipped != null));
Console.WriteLine($"{results.Count} cases, {results.Count - failed.Count} with figures, {failed.Count} without ({skippedCases} skipped on this machine)");
return failed.Count - skippedCases == 0 ? 0 : 1;

static void Summarize(CaseResult cr)
{
    foreach (var c in cr.Contenders.Where(c => c.Runs.Count > 0))
    {
        var v = c.Runs.Select(f => f.GetValueOrDefault(cr.Metric)).Order().ToArray();
        c.Min = v[0];
        c.Max = v[^1];
        c.Median = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        if (c.Runs.Count == 1 && c.Runs[0].ContainsKey("min"))
        {
            (c.Min, c.Median, c.Max) = (c.Runs[0]["min"], c.Runs[0]["median"], c.Runs[0]["max"]); // BenchmarkDotNet's own
        }

        foreach (string e in cr.Extra)
        {
            var ev = c.Runs.Where(f => f.ContainsKey(e)).Select(f => f[e]).Order().ToArray();
            if (ev.Length > 0)
            {
                c.ExtraMedians[e] = ev[ev.Length / 2];
            }
        }
    }

    var b = cr.Contenders.FirstOrDefault(c => c.Name == cr.Baseline && c.Runs.Count > 0);
    if (b != null && b.Median > 0)
    {
        foreach (var c in cr.Contenders.Where(c => c.Runs.Count > 0 && c.Median > 0))
        {
            c.Ratio = cr.HigherIsBetter ? c.Median / b.Median : b.Median / c.Median;
        }
    }
}

static string Fmt(double v) => Report.Fmt(v);

namespace IocpHybrid.Benchmarks.Harness
{
    public sealed class Options
    {
        public const string Usage = """
            usage: ./build.sh bench [--quick] [--seconds N] [--filter TEXT] [--reps N] [--output-dir DIR]
              --quick        smoke pass: 128 MiB data file, 0.5 s per run, short BenchmarkDotNet jobs
              --seconds N    seconds per timed run (default 3 for files, 2 for posts)
              --filter TEXT  only cases whose "section name" contains TEXT (case-insensitive; A|B: either)
              --reps N       interleaved repetitions per case (default 3, at least 3)
              --output-dir DIR  output folder (default artifacts/bench)
              --wine         smoke pass on the IOCP backend: the win-x64 builds under Wine (implies --quick)
            """;

        public bool Quick { get; private set; }

        /// <summary>The smoke pass under Wine (Cases.Wine.cs); always quick: Wine proves the API, not Windows speed.</summary>
        public bool Wine { get; private set; }
        public bool Help { get; private set; }
        public double? Seconds { get; private set; }
        public string? Filter { get; private set; }
        public int Repetitions { get; private set; } = 3;
        public string? Out { get; private set; }
        public string? Root { get; private set; }
        public string CommandLine { get; private set; } = "";

        public static Options Parse(string[] args)
        {
            var o = new Options { CommandLine = "./build.sh bench " + string.Join(' ', args.Where(a => a != "--root")) };
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--quick": o.Quick = true; break;
                    case "--wine": o.Wine = true; o.Quick = true; break;
                    case "-h" or "--help": o.Help = true; break;
                    case "--seconds": o.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--filter": o.Filter = Next(); break;
                    case "--reps": o.Repetitions = Math.Max(3, int.Parse(Next(), CultureInfo.InvariantCulture)); break;
                    case "--output-dir": o.Out = Next(); break;
                    case "--root": o.Root = Next(); o.CommandLine = o.CommandLine.Replace(" " + o.Root, "", StringComparison.Ordinal); break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }

            return o;
        }
    }

    public sealed record Paths(string Root, string OutDir, string NativeDir, string FilesExe, string MicroExe, string DataFile)
    {
        /// <summary>Wine's 64-bit loader (Debian's wine64), for <c>--wine</c>.</summary>
        public string Wine64 => "/usr/lib/wine/wine64";

        /// <summary>The mingw-w64 build of the native core and its C programs (CMake preset win-x64).</summary>
        public string WinNativeDir => Path.Combine(Root, "artifacts", "native", "win-x64");

        /// <summary>A C# program published self-contained for win-x64 by <c>./build.sh bench --wine</c>.</summary>
        public string WinExe(string name) => Path.Combine(Root, "artifacts", "publish", "bench-win-x64", name + ".exe");

        public static Paths Find(Options o)
        {
            string root = o.Root ?? FindRoot(AppContext.BaseDirectory) ?? FindRoot(Environment.CurrentDirectory) ?? throw new InvalidOperationException("IocpHybrid.sln not found");
            string outDir = Path.GetFullPath(o.Out ?? Path.Combine(root, "artifacts", "bench"));
            string Exe(string name) => Path.Combine(root, "managed", "benchmarks", name, "bin", "Release", "net10.0", name);
            return new Paths(root, outDir, Path.Combine(root, "artifacts", "native", "linux-x64"),
                Exe("IocpHybrid.Benchmarks.Files"), Exe("IocpHybrid.Benchmarks.Micro"),
                Path.Combine(outDir, o.Quick ? "data-128m.bin" : "data-1g.bin"));
        }

        private static string? FindRoot(string dir)
        {
            for (var d = new DirectoryInfo(dir); d != null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "IocpHybrid.sln")))
                {
                    return d.FullName;
                }
            }

            return null;
        }

        /// <summary>Creates the data file once (random bytes, so no file system can compress or skip it).</summary>
        public void EnsureDataFile(long length)
        {
            if (File.Exists(DataFile) && new FileInfo(DataFile).Length == length)
            {
                return;
            }

            Console.WriteLine($"creating {DataFile} ({length >> 20} MiB)");
            var buf = new byte[1 << 20];
            using var fs = new FileStream(DataFile + ".tmp", FileMode.Create, FileAccess.Write);
            for (long done = 0; done < length; done += buf.Length)
            {
                Random.Shared.NextBytes(buf);
                fs.Write(buf);
            }

            fs.Flush(flushToDisk: true);
            fs.Close();
            File.Move(DataFile + ".tmp", DataFile, overwrite: true);
        }
    }

    public sealed record Machine(int Cores, string Cpu, string Kernel, string Dotnet, string Os, string Date)
    {
        public static Machine Describe()
        {
            string cpu = File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
                : "?";
            string kernel = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : RuntimeInformation.OSDescription;
            return new Machine(Environment.ProcessorCount, cpu, kernel, RuntimeInformation.FrameworkDescription, RuntimeInformation.OSDescription,
                DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));
        }
    }

    public static class Report
    {
        public static string Fmt(double v) => v switch
        {
            0 => "0",
            >= 100_000 => v.ToString("N0", CultureInfo.InvariantCulture),
            >= 100 => v.ToString("0", CultureInfo.InvariantCulture),
            >= 1 => v.ToString("0.0#", CultureInfo.InvariantCulture),
            _ => v.ToString("0.####", CultureInfo.InvariantCulture),
        };

        public static string Markdown(IReadOnlyList<CaseResult> results, Machine m, Options o)
        {
            var sb = new StringBuilder();
            sb.AppendLine("# IocpHybrid benchmarks").AppendLine();
            sb.AppendLine($"`{o.CommandLine.Trim()}` — {m.Date}; {m.Cores} cores ({m.Cpu}), Linux {m.Kernel}, {m.Dotnet}.").AppendLine();
            sb.AppendLine($"Repetitions interleaved (A B C … × {o.Repetitions}, unless a case says otherwise); min / median / max over them; ratio = median against the baseline, > 1 is better.").AppendLine();
            foreach (var c in results)
            {
                string better = c.HigherIsBetter ? "higher is better" : "lower is better";
                sb.AppendLine($"### {c.Section}: {c.Name}").AppendLine();
                string reps = c.Repetitions != o.Repetitions ? $" {c.Repetitions} repetition{(c.Repetitions == 1 ? "" : "s")}." : "";
                sb.AppendLine($"Metric `{c.Metric}` ({better}){(c.Baseline.Length > 0 ? $", baseline **{c.Baseline}**" : "")}.{reps} {c.Note}").AppendLine();
                sb.Append($"| contender | min | median | max | ratio |");
                foreach (string e in c.Extra) { sb.Append($" {e} (median) |"); }
                sb.AppendLine();
                sb.Append("| --- | ---: | ---: | ---: | ---: |");
                foreach (string _ in c.Extra) { sb.Append(" ---: |"); }
                sb.AppendLine();
                foreach (var r in c.Contenders)
                {
                    if (r.Runs.Count == 0)
                    {
                        sb.AppendLine($"| {r.Name} | {(r.Skipped != null ? "skipped: " + r.Skipped : "FAILED: " + r.Error)} | | | |{string.Concat(c.Extra.Select(_ => " |"))}");
                        continue;
                    }

                    sb.Append($"| {r.Name} | {Fmt(r.Min)} | **{Fmt(r.Median)}** | {Fmt(r.Max)} | {(r.Ratio.HasValue ? r.Ratio.Value.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "")} |");
                    foreach (string e in c.Extra) { sb.Append($" {(r.ExtraMedians.TryGetValue(e, out double v) ? Fmt(v) : "")} |"); }
                    sb.AppendLine();
                }

                sb.AppendLine();
            }

            return sb.ToString();
        }
    }
}
