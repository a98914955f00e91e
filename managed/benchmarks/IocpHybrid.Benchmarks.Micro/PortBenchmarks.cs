using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace IocpHybrid.Benchmarks.Micro;

/// <summary>
/// The port from C#: one operation started and awaited per benchmark call. <c>Inline</c> runs the
/// continuation on the port's worker; otherwise it goes to the thread pool (the default).
/// </summary>
[MemoryDiagnoser]
public class PortBenchmarks
{
    private CompletionPort _port = null!;
    private PortFile _file = null!;
    private string _path = "";
    private readonly byte[] _buffer = new byte[4096];
    private ulong _rawPort;

    [Params(false, true)]
    public bool Inline { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1, InlineCompletions = Inline });
        _path = Path.Combine(Path.GetTempPath(), $"iocph-micro-{Environment.ProcessId}.bin");
        File.WriteAllBytes(_path, new byte[1 << 20]);
        _file = _port.OpenFile(_path, FileMode.Open, FileAccess.ReadWrite);
        _rawPort = RawPort.CreatePull();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _file.Dispose();
        _port.Dispose();
        RawPort.Destroy(_rawPort);
        File.Delete(_path);
    }

    /// <summary>PostAsync awaited: a packet through the port and back to C#.</summary>
    [Benchmark]
    public async Task<long> PostAsyncRoundTrip() => await _port.PostAsync(1, 42).ConfigureAwait(false);

    /// <summary>A cached 4 KiB read awaited.</summary>
    [Benchmark]
    public async Task<int> ReadAsync4K() => await _file.ReadAsync(_buffer, 0).ConfigureAwait(false);

    /// <summary>A cached 4 KiB write awaited.</summary>
    [Benchmark]
    public async Task<int> WriteAsync4K() => await _file.WriteAsync(_buffer, 4096).ConfigureAwait(false);

    /// <summary>The floor: iocph_port_post + iocph_port_dequeue on a pull-mode port, two raw P/Invokes.</summary>
    [Benchmark]
    public long RawPostDequeue() => RawPort.PostAndDequeue(_rawPort);
}

/// <summary>The native API straight through P/Invoke, for the floor (no managed layer).</summary>
internal static unsafe partial class RawPort
{
    private const string Lib = "libiocphybrid";

    [StructLayout(LayoutKind.Sequential)]
    private struct Options
    {
        public uint Size; public int Backend; public uint WorkerThreads; public uint Concurrency;
        public uint QueueDepth; public uint MaxBatch; public nint Callback; public nint Context;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Completion
    {
        public ulong UserData; public ulong Key; public long Result; public int OsError; public uint Flags;
    }

    [LibraryImport(Lib)] private static partial int iocph_port_options_init(Options* o);
    [LibraryImport(Lib)] private static partial int iocph_port_create(Options* o, ulong* port);
    [LibraryImport(Lib)] private static partial int iocph_port_post(ulong port, ulong key, ulong userData, long value);
    [LibraryImport(Lib)] private static partial int iocph_port_dequeue(ulong port, Completion* e, uint max, uint timeoutMs, uint* count);
    [LibraryImport(Lib)] private static partial int iocph_port_shutdown(ulong port, uint timeoutMs);
    [LibraryImport(Lib)] private static partial int iocph_port_destroy(ulong port);

    public static ulong CreatePull()
    {
        Options o;
        iocph_port_options_init(&o);
        o.WorkerThreads = 1;
        ulong port;
        int rc = iocph_port_create(&o, &port);
        if (rc != 0)
        {
            throw new InvalidOperationException($"iocph_port_create: {rc}");
        }

        return port;
    }

    public static long PostAndDequeue(ulong port)
    {
        iocph_port_post(port, 1, 2, 3);
        Completion c;
        uint n;
        iocph_port_dequeue(port, &c, 1, 10000, &n);
        return c.Result;
    }

    public static void Destroy(ulong port)
    {
        iocph_port_shutdown(port, 10000);
        iocph_port_destroy(port);
    }
}
