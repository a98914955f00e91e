using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace IocpHybrid.Benchmarks.Harness;

/// <summary>Starts processes (pinned with taskset), reads their JSON figures, drops the page cache.</summary>
public static class Runner
{
    public static bool IsRoot { get; } = Environment.UserName == "root";

    public static bool HasTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    /// <summary>
    /// A start info for <paramref name="file"/> under <c>taskset -c <paramref name="cpus"/></c> (when given and
    /// taskset exists; taskset execs the program, so the process id is the program's), output redirected.
    /// </summary>
    public static ProcessStartInfo PinnedStartInfo(string file, IEnumerable<string> args, string? cpus)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (cpus != null && HasTool("taskset"))
        {
            psi.FileName = "taskset";
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(cpus);
            psi.ArgumentList.Add(file);
        }
        else
        {
            psi.FileName = file;
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>Runs a program (under taskset -c <paramref name="cpus"/> when given) and returns stdout.</summary>
    public static string Run(string file, IEnumerable<string> args, string? cpus = null, IDictionary<string, string>? env = null, int timeoutSeconds = 600)
    {
        ProcessStartInfo psi = PinnedStartInfo(file, args, cpus);
        if (env != null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }

        using var p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(timeoutSeconds * 1000))
        {
            p.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} timed out");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {p.ExitCode}: {err.Result.Trim()}");
        }

        return output;
    }

    /// <summary>The last line of the output that is a JSON object, as figures (numbers only).</summary>
    public static Figures ParseJsonLine(string output, Func<JsonElement, bool>? pick = null)
    {
        foreach (string line in output.Split('\n').Reverse())
        {
            string t = line.Trim();
            if (!t.StartsWith('{'))
            {
                continue;
            }

            using var doc = JsonDocument.Parse(t);
            if (pick != null && !pick(doc.RootElement))
            {
                continue;
            }

            var f = new Figures();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Value.ValueKind == JsonValueKind.Number)
                {
                    f[prop.Name] = prop.Value.GetDouble();
                }
            }

            return f;
        }

        throw new InvalidOperationException("no JSON figures in the output: " + output.Trim());
    }

    /// <summary>echo 3 &gt; /proc/sys/vm/drop_caches (root only; otherwise a skip).</summary>
    public static void DropCaches()
    {
        if (!IsRoot)
        {
            throw new SkipException("dropping the page cache needs root");
        }

        Run("sync", []);
        File.WriteAllText("/proc/sys/vm/drop_caches", "3");
    }

    /// <summary>Reads the whole file once so every page is cached.</summary>
    public static void WarmCache(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var buf = new byte[1 << 20];
        while (fs.Read(buf) > 0)
        {
        }
    }

    public static string Inv(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
}
