using System.Diagnostics;
using System.Globalization;

namespace IocpHybrid.Benchmarks.Micro;

/// <summary>
/// Posted packets from C#: <c>window</c> loops, each awaiting <see cref="CompletionPort.PostAsync"/> one
/// after another, for a fixed time (the C counterpart is native/benchmarks/bench_post.c). One JSON line.
/// </summary>
internal static class PostThroughput
{
    public static async Task<int> RunAsync(int window, double seconds, bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1, InlineCompletions = inline });
        for (int i = 0; i < 10_000; i++)
        {
            await port.PostAsync(0, i).ConfigureAwait(false); // warm-up
        }

        long done = 0;
        bool stop = false;
        long deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);

        async Task Loop()
        {
            while (!Volatile.Read(ref stop))
            {
                await port.PostAsync(0, 1).ConfigureAwait(false);
                if ((Interlocked.Increment(ref done) & 255) == 0 && Stopwatch.GetTimestamp() >= deadline)
                {
                    Volatile.Write(ref stop, true);
                }
            }
        }

        long t0 = Stopwatch.GetTimestamp();
        TimeSpan c0 = Process.GetCurrentProcess().TotalProcessorTime;
        await Task.WhenAll(Enumerable.Range(0, window).Select(_ => Loop())).ConfigureAwait(false);
        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - c0).TotalSeconds;
        long ops = Interlocked.Read(ref done);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"ops\":{ops},\"seconds\":{s:F6},\"ops_per_sec\":{ops / s:F1},\"ns_per_op\":{s * 1e9 / ops:F2},\"cpu_ns_per_op\":{cpu * 1e9 / ops:F2}}}"));
        return 0;
    }
}
