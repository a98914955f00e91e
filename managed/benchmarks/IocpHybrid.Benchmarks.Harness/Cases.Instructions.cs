using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>
/// Section 6: user-space instructions per operation of the native core, from
/// <c>valgrind --tool=callgrind</c>: the C benchmark runs a fixed number of operations N and then 2N,
/// and (Ir(2N) − Ir(N)) / N cancels start-up and shutdown. Counts every thread of the process.
/// </summary>
/// <remarks>
/// The valgrind must mark io_uring_enter "may block" (upstream since 3.22): valgrind runs one thread
/// at a time, and Debian 12's 3.19 keeps its lock while the ring thread waits in the kernel, so the
/// other threads never run again. build.ps1 (Invoke-Bench) finds or builds one and passes it in
/// IOCPH_VALGRIND, or the reason there is none in IOCPH_VALGRIND_UNAVAILABLE. perf stat has no
/// instructions counter in VMs without a virtual PMU.
/// </remarks>
public sealed partial class Cases
{
    // build.ps1 builds valgrind for this case only when --filter matches "{Section} {Name}".
    private const string InstructionsSection = "6. Instruction counts";
    private const string InstructionsName = "instructions per operation (callgrind)";

    private BenchCase Instructions()
    {
        string file = p.DataFile;
        string? valgrind = FindValgrind(out string? why);
        string version = valgrind != null ? ValgrindVersionText(valgrind) : "";
        return new BenchCase(InstructionsSection, InstructionsName, "instr_per_op", false, "",
        [
            new("post, push (callback)", () => Callgrind("post-push", "bench_post", ["--mode", "push"])),
            new("post, pull (dequeue)", () => Callgrind("post-pull", "bench_post", ["--mode", "pull"])),
            new("file read 4 KiB, pull, cached", () => Callgrind("file-read-pull", "bench_file_read", ["--engine", "iocph-pull", "--file", file])),
            new("file read 4 KiB, push, cached", () => Callgrind("file-read-push", "bench_file_read", ["--engine", "iocph-push", "--file", file])),
            new("TCP loopback 64 B send + receive, pull", () => Callgrind("tcp-pair-pull", "bench_sock_pair", ["--size", "64"])),
        ])
        {
            Setup = () => Runner.WarmCache(file),
            Repetitions = o.Quick ? 1 : 3,
            Extra = ["library_instr_per_op"],
            Note = $"valgrind --tool=callgrind{(version.Length > 0 ? $" ({version})" : "")}, (Ir at 2N ops − Ir at N ops) / N, N = {InstructionOps}, " +
                   "every thread of the process, user space only (the kernel's share is not counted). library_instr_per_op = the part spent in " +
                   "libiocphybrid.so itself (self cost). Instruction counts do not depend on the machine's load; pull contenders vary by a few percent " +
                   "with the order in which the two threads meet (whether the dequeue finds the packet or has to sleep). Per-function costs per op: " +
                   $"callgrind-*.txt next to the results.{(valgrind == null ? " Skipped: " + why : "")}",
        };
    }

    private long InstructionOps => o.Quick ? 5_000 : 50_000;

    /// <summary>The valgrind to run, or null with the reason (then every contender is skipped).</summary>
    private string? FindValgrind(out string? why)
    {
        why = Environment.GetEnvironmentVariable("IOCPH_VALGRIND_UNAVAILABLE");
        string? given = Environment.GetEnvironmentVariable("IOCPH_VALGRIND");
        if (!string.IsNullOrEmpty(given) && File.Exists(given))
        {
            return given;
        }

        if (!string.IsNullOrEmpty(why))
        {
            return null;
        }

        // Run without build.ps1: the copy it builds, else a system valgrind that is new enough.
        string built = Path.Combine(p.Root, "artifacts", "tools", "valgrind");
        if (File.Exists(Path.Combine(built, ".iocphybrid-ready")))
        {
            return Path.Combine(built, "bin", "valgrind");
        }

        if (Runner.HasTool("valgrind"))
        {
            Version v = ValgrindVersion("valgrind");
            if (v >= new Version(3, 22))
            {
                return "valgrind";
            }

            why = $"valgrind {v} keeps its lock while a thread waits in io_uring_enter (not marked may-block before 3.22), so the run never ends; ./build.sh bench as root builds a fixed one into {built}";
            return null;
        }

        why = $"no valgrind: ./build.sh bench as root builds one into {built}";
        return null;
    }

    private Figures Callgrind(string label, string program, string[] args)
    {
        string valgrind = FindValgrind(out string? why) ?? throw new SkipException(why ?? "no valgrind");
        long n = InstructionOps;
        string exe = Path.Combine(p.NativeDir, program);
        string Profile(long ops)
        {
            string outFile = Path.Combine(p.OutDir, $"callgrind.{label}.{ops}.out");
            string[] command = [exe, .. args, "--ops", ops.ToString(CultureInfo.InvariantCulture)];
            string output = Runner.Run(valgrind, ["--tool=callgrind", $"--callgrind-out-file={outFile}", .. command], Core, timeoutSeconds: 300);
            double done = Runner.ParseJsonLine(output).GetValueOrDefault("ops");
            if (done != ops)
            {
                throw new InvalidOperationException($"{program} ran {done} operations under callgrind, asked for {ops}");
            }

            return outFile;
        }

        string a = Profile(n), b = Profile(2 * n);
        double total = (Totals(b) - Totals(a)) / n;
        var fa = Functions(valgrind, a);
        var fb = Functions(valgrind, b);
        var perOp = fb.Select(kv =>
        {
            fa.TryGetValue(kv.Key, out var before);
            return new FunctionCost(kv.Key.Name, kv.Key.Object, (kv.Value.Inclusive - before.Inclusive) / n, (kv.Value.Self - before.Self) / n);
        }).Where(f => f.Inclusive >= 0.5 || f.Self >= 0.5).OrderByDescending(f => f.Inclusive).ThenBy(f => f.Name, StringComparer.Ordinal).ToList();
        double library = perOp.Where(f => f.Object == "libiocphybrid.so").Sum(f => f.Self);
        WriteFunctionReport(label, valgrind, exe, args, n, total, library, perOp);
        return new Figures { ["instr_per_op"] = total, ["library_instr_per_op"] = library };
    }

    private readonly record struct FunctionCost(string Name, string Object, double Inclusive, double Self);

    private void WriteFunctionReport(string label, string valgrind, string exe, string[] args, long n, double total, double library, List<FunctionCost> perOp)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# {Path.GetFileName(exe)} {string.Join(' ', args)}: instructions per operation by function");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# valgrind --tool=callgrind ({ValgrindVersionText(valgrind)}); (Ir at {2 * n} ops - Ir at {n} ops) / {n}; every thread; callgrind_annotate --inclusive=yes/no");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# total {total:0.0} instructions per op, {library:0.0} of them in libiocphybrid.so itself");
        sb.AppendLine(CultureInfo.InvariantCulture, $"# raw profiles: callgrind.{label}.{n}.out and callgrind.{label}.{2 * n}.out");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"inclusive/op",12} {"self/op",9}  function [object]");
        foreach (var f in perOp)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{f.Inclusive,12:0.0} {f.Self,9:0.0}  {f.Name} [{f.Object}]");
        }

        File.WriteAllText(Path.Combine(p.OutDir, $"callgrind-{label}.txt"), sb.ToString());
    }

    /// <summary>The "summary:" (or "totals:") line of a callgrind output file: Ir of the whole run.</summary>
    private static double Totals(string outFile)
    {
        string line = File.ReadLines(outFile).First(l => l.StartsWith("summary:", StringComparison.Ordinal) || l.StartsWith("totals:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    /// <summary>Inclusive and self Ir of every function in one profile, from callgrind_annotate.</summary>
    private static Dictionary<(string Name, string Object), (double Inclusive, double Self)> Functions(string valgrind, string outFile)
    {
        string dir = Path.GetDirectoryName(valgrind) is { Length: > 0 } d ? d : "";
        string annotate = dir.Length > 0 && File.Exists(Path.Combine(dir, "callgrind_annotate")) ? Path.Combine(dir, "callgrind_annotate") : "callgrind_annotate";
        var map = new Dictionary<(string, string), (double Inclusive, double Self)>();
        foreach (bool inclusive in new[] { true, false })
        {
            string text = Runner.Run(annotate, [$"--inclusive={(inclusive ? "yes" : "no")}", "--threshold=100", "--auto=no", outFile]);
            foreach (string line in text.Split('\n'))
            {
                Match m = AnnotateLine().Match(line);
                if (!m.Success || m.Groups["fn"].Value == "PROGRAM TOTALS")
                {
                    continue;
                }

                double ir = double.Parse(m.Groups["ir"].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
                string fn = m.Groups["fn"].Value;
                int colon = fn.IndexOf(':', StringComparison.Ordinal);
                string name = colon >= 0 && !fn.StartsWith("0x", StringComparison.Ordinal) ? fn[(colon + 1)..] : fn;
                string obj = m.Groups["obj"].Success ? Path.GetFileName(m.Groups["obj"].Value) : "?";
                var key = (name, obj);
                map.TryGetValue(key, out var v);
                map[key] = inclusive ? (v.Inclusive + ir, v.Self) : (v.Inclusive, v.Self + ir);
            }
        }

        return map;
    }

    // "  1,234,567 (12.34%)  file:function [/path/object]" (the object part is absent for some).
    [GeneratedRegex(@"^\s*(?<ir>[\d,]+)\s+\(\s*[\d.]+%\)\s+(?<fn>.+?)(?:\s+\[(?<obj>[^\]]+)\])?\s*$")]
    private static partial Regex AnnotateLine();

    private static string ValgrindVersionText(string valgrind)
    {
        // The copy build.ps1 builds says what it is (Debian source + the io_uring_enter fix).
        string marker = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(valgrind) ?? "") ?? "", ".iocphybrid-ready");
        if (Path.IsPathRooted(valgrind) && File.Exists(marker))
        {
            return File.ReadLines(marker).First().Trim();
        }

        try
        {
            return Runner.Run(valgrind, ["--tool=callgrind", "--version"]).Trim(); // valgrind-3.19.0
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }

    private static Version ValgrindVersion(string valgrind)
    {
        Match m = Regex.Match(ValgrindVersionText(valgrind), @"(\d+)\.(\d+)");
        return m.Success ? new Version(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)) : new Version(0, 0);
    }
}
