using System.Diagnostics;
using IocpHybrid;
using IocpHybrid.Benchmarks.Files;
using IocpHybrid.Demo;

// One contender, one run, one JSON line on stdout: {"ops":..,"seconds":..,"ops_per_sec":..,...}.
const string Usage = """
    usage: IocpHybrid.Benchmarks.Files --contender NAME --file PATH [options]
      read contenders (4 KiB random reads, closed loop, --depth reads in flight):
        portfile           PortFile.ReadAsync, continuations on the thread pool (1 port worker)
        portfile-inline    the same with CompletionPortOptions.InlineCompletions
        randomaccess       RandomAccess.ReadAsync on a handle opened without FileOptions.Asynchronous
        randomaccess-async the same with FileOptions.Asynchronous
      copy contenders (whole file, sequential, to --dest):
        copy-demo          the demo's FileCopier (1 MiB blocks, 32 lanes)
        copy-filestream    FileStream.CopyToAsync (both streams FileOptions.Asynchronous, 1 MiB buffer)
      options: --depth N (1)  --bs BYTES (4096)  --seconds S (2)  --ops N (fixed count)  --direct
               (PortFile: O_DIRECT; RandomAccess has no unbuffered mode on Linux)  --dest PATH
               --warmup S (0): reads run S seconds before the measured part starts
               --drop-caches: drop the page cache (root) at the end of the warm-up
    """;

var a = Args.Parse(args);
if (a.Contender is null || a.File is null)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

try
{
    Result r = a.Contender switch
    {
        "portfile" => await FileReads.PortFileAsync(a, inline: false),
        "portfile-inline" => await FileReads.PortFileAsync(a, inline: true),
        "randomaccess" => await FileReads.RandomAccessAsync(a, FileOptions.None),
        "randomaccess-async" => await FileReads.RandomAccessAsync(a, FileOptions.Asynchronous),
        "copy-demo" => await Copies.DemoAsync(a),
        "copy-filestream" => await Copies.FileStreamAsync(a),
        _ => throw new ArgumentException($"unknown contender '{a.Contender}'"),
    };
    Console.WriteLine(r.ToJson());
    return 0;
}
catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

namespace IocpHybrid.Benchmarks.Files
{
    internal sealed record Args(string? Contender, string? File, string? Dest, int Depth, int BlockSize, double Seconds, long Ops, bool Direct, double Warmup, bool DropCaches)
    {
        public static Args Parse(string[] args)
        {
            string? Get(string name) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : null; }
            return new Args(Get("--contender"), Get("--file"), Get("--dest"),
                int.Parse(Get("--depth") ?? "1"), int.Parse(Get("--bs") ?? "4096"),
                double.Parse(Get("--seconds") ?? "2", System.Globalization.CultureInfo.InvariantCulture),
                long.Parse(Get("--ops") ?? "0"), args.Contains("--direct"),
                double.Parse(Get("--warmup") ?? "0", System.Globalization.CultureInfo.InvariantCulture),
                args.Contains("--drop-caches"));
        }
    }

    /// <param name="StorageBytes">Bytes the process caused to be fetched from storage during the run
    /// (<c>read_bytes</c> of /proc/self/io): a read served by the page cache adds nothing, so
    /// StorageBytes / Bytes is the fraction of the data that came from the disk (readahead counts too,
    /// so a buffered run can show more than 1 and its cache hits are at least 1 minus it). Null where the kernel
    /// keeps no such count: the figure is then left out rather than shown as 0 (all from the cache).</param>
    internal readonly record struct Result(long Ops, double Seconds, double CpuSeconds, long Bytes, long? StorageBytes)
    {
        public string ToJson()
        {
            var ic = System.Globalization.CultureInfo.InvariantCulture;
            double ops = Math.Max(Ops, 1);
            string fromDisk = StorageBytes is long storage && Bytes > 0 ? string.Create(ic, $",\"from_disk\":{(double)storage / Bytes:F3}") : "";
            return string.Create(ic, $"{{\"ops\":{Ops},\"seconds\":{Seconds:F6},\"ops_per_sec\":{Ops / Seconds:F1},\"ns_per_op\":{Seconds * 1e9 / ops:F2},\"cpu_ns_per_op\":{CpuSeconds * 1e9 / ops:F2},\"mib_per_sec\":{Bytes / Seconds / 1048576.0:F1}{fromDisk}}}");
        }
    }

    /// <summary>Wall clock and process CPU time around a run.</summary>
    internal readonly struct Meter
    {
        private readonly long _start;
        private readonly TimeSpan _cpu;
        private readonly long? _storage;

        private Meter(long start, TimeSpan cpu, long? storage) { _start = start; _cpu = cpu; _storage = storage; }

        public static Meter Start() => new(Stopwatch.GetTimestamp(), Process.GetCurrentProcess().TotalProcessorTime, StorageReadBytes());

        public Result Stop(long ops, long bytes) =>
            new(ops, Stopwatch.GetElapsedTime(_start).TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - _cpu).TotalSeconds, bytes, StorageReadBytes() - _storage);

        /// <summary>The process's <c>read_bytes</c> from /proc/self/io (all its threads); null where there is none.</summary>
        private static long? StorageReadBytes()
        {
            const string Key = "read_bytes:";
            try
            {
                foreach (string line in File.ReadLines("/proc/self/io"))
                {
                    if (line.StartsWith(Key, StringComparison.Ordinal))
                    {
                        return long.Parse(line.AsSpan(Key.Length).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }

            return null;
        }
    }

    internal static class FileReads
    {
        /// <summary>Runs <c>depth</c> lanes, each awaiting one read at a time at random aligned offsets.</summary>
        /// <remarks>The lanes read through the warm-up too; only the reads after it are counted. Why a
        /// warm-up: a process pinned to one CPU reaches tier-1 code late (the runtime multiplies its
        /// call-counting delay by 10 on a single processor, TC_DelaySingleProcMultiplier): profiled, the
        /// JIT's tier-1 burst comes 2-2.5 s after the start and took a quarter of that half second's
        /// CPU, and until then the reads run instrumented code (docs/benchmarks.md).</remarks>
        private static async Task<Result> RunLanesAsync(Args a, long length, Func<Memory<byte>, long, ValueTask<int>> read, Func<int, Memory<byte>> buffer)
        {
            long blocks = length / a.BlockSize;
            var clock = new LaneClock(a);

            async Task Lane(int lane)
            {
                Memory<byte> buf = buffer(lane);
                var rng = new Random(lane * 7919 + 1);
                while (!clock.Stopped)
                {
                    long offset = rng.NextInt64(blocks) * a.BlockSize;
                    int n = await read(buf, offset).ConfigureAwait(false);
                    if (n != a.BlockSize)
                    {
                        throw new IOException($"short read {n} at {offset}");
                    }

                    clock.Counted();
                }
            }

            var lanes = new Task[a.Depth];
            for (int i = 0; i < lanes.Length; i++)
            {
                lanes[i] = Lane(i);
            }

            await Task.WhenAll(lanes).ConfigureAwait(false);
            return clock.Result();
        }

        /// <summary>
        /// Counts the reads and moves the run from its warm-up to the measured part to the end, from
        /// inside the lanes (every 64th read looks at the clock).
        /// </summary>
        /// <remarks>Why not a <c>Task.Delay</c> on the thread that starts the lanes: a read served by the
        /// page cache completes synchronously (PortFile's try-read, a <c>preadv2</c> with RWF_NOWAIT), so a
        /// lane can loop on the starting thread, or on the port's worker with inline completions, without
        /// ever giving it back; the delay's continuation then never ran and the run never ended (seen
        /// in CI: the inline contender at depth 32 on a cached file read for minutes).</remarks>
        private sealed class LaneClock
        {
            private const int WarmingUp = 0, Switching = 1, Measuring = 2, Stopping = 3;

            private readonly Args _a;
            private readonly long _warmupEnd;
            private int _phase = WarmingUp;
            private long _done;
            private long _counted; // the count when the measured part started
            private long _deadline;
            private Meter _meter;

            public LaneClock(Args a)
            {
                _a = a;
                _warmupEnd = Stopwatch.GetTimestamp() + (long)(a.Warmup * Stopwatch.Frequency);
                if (a.Warmup <= 0)
                {
                    _phase = Switching;
                    StartMeasuring();
                }
            }

            public bool Stopped => Volatile.Read(ref _phase) == Stopping;

            /// <summary>One read completed.</summary>
            public void Counted()
            {
                long d = Interlocked.Increment(ref _done);
                int phase = Volatile.Read(ref _phase);
                if (phase == Measuring && _a.Ops > 0)
                {
                    if (d - Volatile.Read(ref _counted) >= _a.Ops)
                    {
                        Volatile.Write(ref _phase, Stopping);
                    }

                    return;
                }

                if ((d & 63) != 0 || phase is Switching or Stopping)
                {
                    return;
                }

                long now = Stopwatch.GetTimestamp();
                if (phase == WarmingUp)
                {
                    if (now >= _warmupEnd && Interlocked.CompareExchange(ref _phase, Switching, WarmingUp) == WarmingUp)
                    {
                        StartMeasuring();
                    }
                }
                else if (_a.Ops <= 0 && now >= Volatile.Read(ref _deadline))
                {
                    Volatile.Write(ref _phase, Stopping);
                }
            }

            /// <summary>The figures of the measured part (call after every lane ended).</summary>
            public Result Result()
            {
                long ops = Interlocked.Read(ref _done) - _counted;
                return _meter.Stop(ops, ops * _a.BlockSize);
            }

            private void StartMeasuring()
            {
                if (_a.DropCaches)
                {
                    // The reads of the warm-up have cached pages: the measured part starts from an empty cache.
                    File.WriteAllText("/proc/sys/vm/drop_caches", "3");
                }

                _meter = Meter.Start();
                Volatile.Write(ref _counted, Interlocked.Read(ref _done));
                Volatile.Write(ref _deadline, Stopwatch.GetTimestamp() + (long)(_a.Seconds * Stopwatch.Frequency));
                Volatile.Write(ref _phase, Measuring);
            }
        }

        public static async Task<Result> PortFileAsync(Args a, bool inline)
        {
            await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1, InlineCompletions = inline, QueueDepth = Math.Max(256, a.Depth) });
            using PortFile file = port.OpenFile(a.File!, FileMode.Open, FileAccess.Read, a.Direct ? PortFileOptions.Unbuffered : PortFileOptions.None);
            var buffers = new Memory<byte>[a.Depth];
            for (int i = 0; i < buffers.Length; i++)
            {
                buffers[i] = a.Direct ? PortFile.AllocateAlignedBuffer(a.BlockSize) : new byte[a.BlockSize];
            }

            return await RunLanesAsync(a, file.Length, (b, o) => file.ReadAsync(b, o), i => buffers[i]).ConfigureAwait(false);
        }

        public static async Task<Result> RandomAccessAsync(Args a, FileOptions options)
        {
            using var handle = File.OpenHandle(a.File!, FileMode.Open, FileAccess.Read, FileShare.Read, options);
            var buffers = new byte[a.Depth][];
            for (int i = 0; i < buffers.Length; i++)
            {
                buffers[i] = new byte[a.BlockSize];
            }

            return await RunLanesAsync(a, RandomAccess.GetLength(handle), (b, o) => RandomAccess.ReadAsync(handle, b, o), i => buffers[i]).ConfigureAwait(false);
        }
    }

    internal static class Copies
    {
        public static async Task<Result> DemoAsync(Args a)
        {
            await using var port = new CompletionPort();
            var copier = new FileCopier(port, blockBytes: 1 << 20, depth: 32, unbuffered: false);
            var meter = Meter.Start();
            long bytes = await copier.CopyAsync(a.File!, a.Dest!).ConfigureAwait(false);
            return meter.Stop(1, bytes);
        }

        public static async Task<Result> FileStreamAsync(Args a)
        {
            var meter = Meter.Start();
            long bytes;
            await using (var input = new FileStream(a.File!, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var output = new FileStream(a.Dest!, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                await input.CopyToAsync(output, 1 << 20).ConfigureAwait(false);
                await output.FlushAsync().ConfigureAwait(false);
                output.Flush(flushToDisk: true);
                bytes = input.Length;
            }

            return meter.Stop(1, bytes);
        }
    }
}
