namespace IocpHybrid;

/// <summary>
/// Settings of a <see cref="CompletionPort"/>; they mirror the native <c>iocph_port_options</c>.
/// Zero means "the native default" for every numeric setting.
/// </summary>
public sealed class CompletionPortOptions
{
    /// <summary>The largest <see cref="MaxBatch"/> the native core accepts.</summary>
    public const int MaxBatchLimit = 1024;

    /// <summary>The backend to use. <see cref="CompletionPortBackend.Default"/> picks the best one that runs here.</summary>
    public CompletionPortBackend Backend { get; set; } = CompletionPortBackend.Default;

    /// <summary>Worker threads that deliver completions (0 = the number of processors the process may run on,
    /// as <see cref="Environment.ProcessorCount"/> counts them: its affinity mask).</summary>
    public int WorkerThreads { get; set; }

    /// <summary>
    /// How many workers may run completion callbacks at once, as the concurrency value of
    /// <c>CreateIoCompletionPort</c> (0 = the number of processors the process may run on).
    /// </summary>
    public int Concurrency { get; set; }

    /// <summary>
    /// Operations in flight the port is sized for (0 = 256). More are accepted: the native operation
    /// pool grows up to its limit of about one million.
    /// </summary>
    public int QueueDepth { get; set; }

    /// <summary>Most completions delivered to managed code per native-to-managed transition (0 = 64, at most 1024).</summary>
    public int MaxBatch { get; set; }

    /// <summary>
    /// When <see langword="true"/>, the continuation of an awaited operation runs synchronously on the
    /// port's worker thread that delivered the completion, saving a thread-pool hop. Such continuations
    /// must be short and must not block, and must not dispose the port synchronously (use
    /// <see cref="CompletionPort.DisposeAsync"/>; <see cref="PortNetworkStream"/>'s blocking Read and Write
    /// throw there): while they run, the worker delivers nothing else.
    /// When <see langword="false"/> (the default), continuations run on the thread pool: each native batch
    /// of completions is handed to one pool work item, which runs their continuations one after another
    /// (a helper work item is scheduled when more are waiting, so one blocking continuation doesn't stall the rest);
    /// on Linux the workers then run as <c>SCHED_BATCH</c> threads, so that a worker woken by a completion does not
    /// preempt the pool thread running the application on the same core.
    /// </summary>
    public bool InlineCompletions { get; set; }

    internal void Validate()
    {
        if (Backend is not (CompletionPortBackend.Default or CompletionPortBackend.Iocp or CompletionPortBackend.IoUring or CompletionPortBackend.Epoll))
        {
            throw new ArgumentOutOfRangeException(nameof(Backend), Backend, "Unknown completion port backend.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(WorkerThreads, nameof(WorkerThreads));
        ArgumentOutOfRangeException.ThrowIfNegative(Concurrency, nameof(Concurrency));
        ArgumentOutOfRangeException.ThrowIfNegative(QueueDepth, nameof(QueueDepth));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxBatch, nameof(MaxBatch));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxBatch, MaxBatchLimit, nameof(MaxBatch));
    }
}
