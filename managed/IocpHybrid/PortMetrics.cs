using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// The library's <see cref="Meter"/>, <c>IocpHybrid</c> (see docs/metrics.md; watch it with
/// <c>dotnet-counters monitor --counters IocpHybrid -p PID</c>). Instrument names follow the OpenTelemetry
/// style of Kestrel's meter (<c>kestrel.active_connections</c>). Each counter is checked for a listener
/// before anything is measured, so a process that does not listen pays a branch per operation; what is
/// current (operations in flight, connections open) is read when a listener asks.
/// </summary>
internal static class PortMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "IocpHybrid";

    private const string OperationTag = "iocphybrid.operation";
    private const string ErrorTag = "error.type";

    private static readonly Meter s_meter = new(MeterName, typeof(PortMetrics).Assembly.GetName().Version?.ToString(3));

    private static readonly Counter<long> s_started = s_meter.CreateCounter<long>(
        "iocphybrid.operations.started", "{operation}", "Operations the native core accepted (each completes exactly once).");

    private static readonly Counter<long> s_completed = s_meter.CreateCounter<long>(
        "iocphybrid.operations.completed", "{operation}", "Operations that completed, successfully or not.");

    private static readonly Counter<long> s_failed = s_meter.CreateCounter<long>(
        "iocphybrid.operations.failed", "{operation}", "Operations that completed with an error (error.type: the library's status, e.g. canceled, timeout, connection_reset).");

    private static readonly Histogram<int> s_batchSize = s_meter.CreateHistogram<int>(
        "iocphybrid.completion.batch_size", "{completion}", "Completions delivered by one call of the native callback (one managed transition).",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] });

    // Observed, not counted up and down: a tool that attaches to a running process (dotnet-counters) then
    // reads the true current value instead of the changes since it attached.
    private static readonly ConcurrentDictionary<CompletionPort, byte> s_ports = new();
    private static long s_connectionsOpen;

    private static readonly ObservableUpDownCounter<long> s_active = s_meter.CreateObservableUpDownCounter(
        "iocphybrid.operations.active", ObserveOperationsInFlight, "{operation}", "Operations in flight in the native core, every port of the process together.");

    private static readonly ObservableUpDownCounter<long> s_connections = s_meter.CreateObservableUpDownCounter(
        "iocphybrid.connections.active", () => Volatile.Read(ref s_connectionsOpen), "{connection}", "TCP connections made by accept or connect and not yet disposed.");

    private static readonly string[] s_kindNames = CreateKindNames();
    private static readonly ConcurrentDictionary<int, string> s_errorNames = new();

    public static void OperationStarted(OperationKind kind)
    {
        if (s_started.Enabled)
        {
            s_started.Add(1, new KeyValuePair<string, object?>(OperationTag, s_kindNames[(int)kind]));
        }

    }

    /// <summary>A user's call finished within the call by an immediate attempt (iocph_*_try_*): started and completed, never active.</summary>
    public static void OperationCompletedAtOnce(OperationKind kind)
    {
        if (s_started.Enabled)
        {
            s_started.Add(1, new KeyValuePair<string, object?>(OperationTag, s_kindNames[(int)kind]));
        }

        if (s_completed.Enabled)
        {
            s_completed.Add(1, new KeyValuePair<string, object?>(OperationTag, s_kindNames[(int)kind]));
        }
    }

    public static void OperationCompleted(OperationKind kind, long result)
    {
        var operation = new KeyValuePair<string, object?>(OperationTag, s_kindNames[(int)kind]);
        if (s_completed.Enabled)
        {
            s_completed.Add(1, operation);
        }


        if (result < 0 && kind != OperationKind.Post && s_failed.Enabled)
        {
            s_failed.Add(1, operation, new KeyValuePair<string, object?>(ErrorTag, ErrorName(result)));
        }
    }

    public static void CompletionBatch(uint count)
    {
        if (s_batchSize.Enabled)
        {
            s_batchSize.Record((int)count);
        }
    }

    public static void ConnectionOpened() => Interlocked.Increment(ref s_connectionsOpen);

    public static void ConnectionClosed() => Interlocked.Decrement(ref s_connectionsOpen);

    public static void PortOpened(CompletionPort port) => s_ports.TryAdd(port, 0);

    public static void PortClosed(CompletionPort port) => s_ports.TryRemove(port, out _);

    private static long ObserveOperationsInFlight()
    {
        long total = 0;
        foreach (CompletionPort port in s_ports.Keys)
        {
            try
            {
                total += port.GetStatistics().OperationsInFlight;
            }
            catch (ObjectDisposedException)
            {
                // Shutting down between the enumeration and the read: its operations are ending.
            }
        }

        return total;
    }

    /// <summary>The operation tag's value: file.read, socket.receive, ...</summary>
    internal static string KindName(OperationKind kind) => s_kindNames[(int)kind];

    private static string[] CreateKindNames()
    {
        var names = new string[Enum.GetValues<OperationKind>().Length];
        names[(int)OperationKind.FileRead] = "file.read";
        names[(int)OperationKind.FileWrite] = "file.write";
        names[(int)OperationKind.FileFlush] = "file.flush";
        names[(int)OperationKind.PipeRead] = "pipe.read";
        names[(int)OperationKind.PipeWrite] = "pipe.write";
        names[(int)OperationKind.Post] = "post";
        names[(int)OperationKind.TcpAccept] = "tcp.accept";
        names[(int)OperationKind.TcpConnect] = "tcp.connect";
        names[(int)OperationKind.SocketSend] = "tcp.send";
        names[(int)OperationKind.SocketReceive] = "tcp.receive";
        names[(int)OperationKind.UdpSendTo] = "udp.send_to";
        names[(int)OperationKind.UdpReceiveFrom] = "udp.receive_from";
        return names;
    }

    /// <summary>A status as a low-cardinality tag: IOCPH_E_CONNECTION_RESET -> connection_reset.</summary>
    private static string ErrorName(long result)
    {
        int status = result < int.MinValue ? NativeErrors.Unknown : (int)result;
        return s_errorNames.GetOrAdd(status, static s =>
        {
            string name = Enum.IsDefined((iocph_status)s) ? ((iocph_status)s).ToString() : "IOCPH_E_UNKNOWN";
            return name.Replace("IOCPH_E_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        });
    }
}
