using System.Diagnostics;

namespace IocpHybrid.Stress;

/// <summary>The process's resident memory and open descriptors (Linux: /proc/self; Windows and Wine: the process's working set and handle count).</summary>
internal static class ProcessProbe
{
    internal static long ResidentBytes()
    {
        if (OperatingSystem.IsLinux())
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim()) * 1024;
                }
            }

            throw new InvalidOperationException("/proc/self/status has no VmRSS line");
        }

        using Process self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

    /// <summary>
    /// Open descriptors (the enumeration's own descriptor included: the same offset in every sample), but
    /// for the assemblies the runtime has mapped: it opens each once, when first used, and keeps it for
    /// the life of the process, so one loaded late in the run is no leak.
    /// </summary>
    internal static int OpenDescriptors()
    {
        if (OperatingSystem.IsLinux())
        {
            return DescriptorTargets().Count;
        }

        using Process self = Process.GetCurrentProcess();
        return self.HandleCount;
    }

    /// <summary>What each open descriptor refers to (Linux; empty elsewhere): a leak's report names them.</summary>
    internal static List<string> DescriptorTargets()
    {
        var targets = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            return targets;
        }

        foreach (string fd in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                string target = new FileInfo(fd).LinkTarget ?? "?";
                if (!IsAssembly(target))
                {
                    targets.Add(target);
                }
            }
            catch (IOException)
            {
                // Closed between the listing and the look (the listing's own descriptor).
            }
        }

        return targets;
    }

    private static readonly string[] AssemblyDirectories =
        [System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory(), AppContext.BaseDirectory];

    private static bool IsAssembly(string target) =>
        target.EndsWith(".dll", StringComparison.Ordinal) && AssemblyDirectories.Any(d => target.StartsWith(d, StringComparison.Ordinal));
}
