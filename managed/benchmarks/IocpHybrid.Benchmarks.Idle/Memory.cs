using System.Globalization;

namespace IocpHybrid.Benchmarks.Idle;

/// <summary>
/// The process's memory at one moment: resident (VmRSS, everything the kernel keeps in RAM for the
/// process, native and managed alike) and the GC's own view of the managed heap.
/// </summary>
/// <param name="Rss">VmRSS from /proc/self/status, bytes.</param>
/// <param name="ManagedLive">GC.GetTotalMemory(true): bytes of reachable objects after a full collection.</param>
/// <param name="ManagedCommitted">GCMemoryInfo.TotalCommittedBytes: memory the GC has committed for the heap (objects, free space, bookkeeping).</param>
internal readonly record struct MemorySnapshot(long Rss, long ManagedLive, long ManagedCommitted)
{
    /// <summary>
    /// Settles (the same pause as the C servers: ring submissions and lazily touched pages land),
    /// collects everything collectable, then reads the figures, RSS last so that it sees the heap
    /// as the GC left it.
    /// </summary>
    public static MemorySnapshot Take()
    {
        Thread.Sleep(500);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        long live = GC.GetTotalMemory(forceFullCollection: true);
        GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.Any);
        return new MemorySnapshot(ReadVmRss(), live, info.TotalCommittedBytes);
    }

    private static long ReadVmRss()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                // "VmRSS:     123456 kB"
                string kib = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }
}
