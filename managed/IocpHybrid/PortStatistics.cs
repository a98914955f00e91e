namespace IocpHybrid;

/// <summary>
/// A snapshot of a port's counters (the native <c>iocph_port_stats</c>). The counters are read one by
/// one, so a snapshot taken while operations run is consistent only approximately.
/// </summary>
public readonly struct PortStatistics
{
    /// <summary>Worker threads running.</summary>
    public int WorkerThreads { get; init; }

    /// <summary>Operations and posted packets started and not yet delivered.</summary>
    public long OperationsInFlight { get; init; }

    /// <summary>Operations and posted packets accepted since the port was created.</summary>
    public long OperationsStarted { get; init; }

    /// <summary>Completions handed to managed code.</summary>
    public long CompletionsDelivered { get; init; }

    /// <summary>Completion batches delivered (native-to-managed transitions).</summary>
    public long CallbackBatches { get; init; }

    /// <summary>Files and pipe ends associated with the port and not yet closed.</summary>
    public long HandlesOpen { get; init; }

    /// <summary>
    /// Waits the workers made on the operating system (<c>io_uring_enter</c>,
    /// <c>GetQueuedCompletionStatusEx</c>); <see cref="CompletionsDelivered"/> divided by this is the
    /// batching the port achieves.
    /// </summary>
    public long OsWaits { get; init; }

    /// <inheritdoc/>
    public override string ToString() =>
        $"workers={WorkerThreads} in_flight={OperationsInFlight} started={OperationsStarted} " +
        $"delivered={CompletionsDelivered} batches={CallbackBatches} handles={HandlesOpen} os_waits={OsWaits}";
}
