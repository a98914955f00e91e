using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// A completion port: native worker threads that run operations started from any thread and deliver
/// their completions in batches, with the semantics of a Windows I/O Completion Port on every platform
/// (IOCP on Windows, io_uring on Linux). Files and pipes are opened through it; every operation on them
/// completes through it.
/// </summary>
/// <remarks>
/// <para>Disposing the port (<see cref="DisposeAsync"/> or <see cref="Dispose"/>) is a graceful shutdown:
/// new operations are refused with <see cref="ObjectDisposedException"/>, every operation in flight is
/// cancelled and completes (with <see cref="ObjectDisposedException"/>, or with
/// <see cref="OperationCanceledException"/> when its own token was cancelled too, or with its result if it
/// had finished first), the worker threads are joined, and every file and pipe of the port is closed.</para>
/// <para>A port that is never disposed keeps its worker threads until the process exits.</para>
/// <para>All members are thread-safe.</para>
/// </remarks>
public sealed unsafe partial class CompletionPort : IAsyncDisposable, IDisposable
{
    private readonly bool _inlineCompletions;
    private readonly CompletionPortBackend _backend;
    private readonly string _backendName;
    private readonly CompletionPortBackendReason _backendReason;
    private ulong _port;
    private GCHandle _self;

    // Operation registry: user_data's low 32 bits index it. Grows under the lock, read lock-free.
    private readonly Lock _registryLock = new();
    private PortOperation?[] _operations = new PortOperation?[64];
    private int _operationCount;
    private readonly ConcurrentQueue<PortOperation> _pool = new();

    // PortOperation's rarely used fields, lent to the uses that need them (PortOperation.Sockets.cs).
    private readonly ConcurrentQueue<PortOperation.Rare> _rarePool = new();

    private long _nextKey;
    private int _disposeState; // 0 live, 1 disposing or disposed

    // Completed when the shutdown is over. It exists before any Dispose call, so a caller that loses
    // the race for _disposeState always has the real shutdown to wait for, never a task not yet published.
    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates a port with the default options.</summary>
    /// <exception cref="PlatformNotSupportedException">The default backend can't be set up here.</exception>
    /// <exception cref="IOException">The process is out of file descriptors or memory.</exception>
    public CompletionPort()
        : this(new CompletionPortOptions())
    {
    }

    /// <summary>Creates a port and starts its worker threads.</summary>
    /// <param name="options">The port's settings.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A setting is negative, unknown or too large.</exception>
    /// <exception cref="PlatformNotSupportedException">The backend asked for does not exist on this OS or can't be set up.</exception>
    /// <exception cref="InvalidOperationException">The native library loaded is not the version this assembly needs.</exception>
    /// <exception cref="IOException">The process is out of file descriptors (handles) or memory.</exception>
    public CompletionPort(CompletionPortOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        NativeVersionCheck.EnsureCompatible();
        _inlineCompletions = options.InlineCompletions;
        _dispatcher = options.InlineCompletions ? null : new CompletionDispatcher();

        iocph_port_options native;
        int rc = NativeMethods.iocph_port_options_init(&native);
        if (rc != NativeErrors.Ok)
        {
            throw NativeErrors.CreateException(rc);
        }

        native.size = (uint)sizeof(iocph_port_options);
        native.backend = (int)options.Backend;
        native.worker_threads = (uint)options.WorkerThreads;
        native.concurrency = (uint)options.Concurrency;
        native.queue_depth = (uint)options.QueueDepth;
        native.max_batch = (uint)options.MaxBatch;
        native.callback = &OnCompletions;

        _self = GCHandle.Alloc(this, GCHandleType.Normal);
        native.callback_context = (void*)GCHandle.ToIntPtr(_self);

        ulong port;
        rc = NativeMethods.iocph_port_create(&native, &port);
        if (rc != NativeErrors.Ok)
        {
            _self.Free();
            if (rc == (int)iocph_status.IOCPH_E_UNSUPPORTED)
            {
                throw BackendRefused(options.Backend);
            }

            throw NativeErrors.CreateException(rc);
        }

        _port = port;
        int backend, reason, osError;
        rc = NativeMethods.iocph_port_get_backend(port, &backend);
        _backend = rc == NativeErrors.Ok ? (CompletionPortBackend)backend : options.Backend;
        _backendName = BackendNativeName(_backend);
        rc = NativeMethods.iocph_port_get_backend_reason(port, &reason, &osError);
        _backendReason = rc == NativeErrors.Ok ? (CompletionPortBackendReason)reason : CompletionPortBackendReason.None;
        PortMetrics.PortOpened(this);
    }

    /// <summary>The version of the native library actually loaded.</summary>
    public static Version NativeVersion
    {
        get
        {
            return NativeVersionCheck.ToVersion(NativeMethods.iocph_version());
        }
    }

    /// <summary>The backend this port runs on (never <see cref="CompletionPortBackend.Default"/>).</summary>
    public CompletionPortBackend Backend => _backend;

    /// <summary>The native name of the backend: <c>"iocp"</c>, <c>"io_uring"</c> or <c>"epoll"</c>.</summary>
    public string BackendName => _backendName;

    /// <summary>
    /// Why the port runs on <see cref="Backend"/>: <see cref="CompletionPortBackendReason.None"/> for the
    /// default's first choice, <see cref="CompletionPortBackendReason.Forced"/> when it was named, or why the
    /// first choice was refused (for instance <see cref="CompletionPortBackendReason.IoUringBlocked"/> in a
    /// container whose seccomp profile refuses io_uring, where the port runs on epoll).
    /// </summary>
    public CompletionPortBackendReason BackendReason => _backendReason;

    /// <summary>A sentence that explains <see cref="BackendReason"/>, with the way out where there is one.</summary>
    public string BackendReasonMessage => ReasonMessage(_backendReason);

    /// <summary>Whether continuations run on the port's worker threads (see <see cref="CompletionPortOptions.InlineCompletions"/>).</summary>
    public bool InlineCompletions => _inlineCompletions;

    internal bool IsDisposed => Volatile.Read(ref _disposeState) != 0;

    internal ulong NativePort => _port;

    /// <summary>Reads the port's counters.</summary>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    public PortStatistics GetStatistics()
    {
        ThrowIfDisposed();
        iocph_port_stats stats = default;
        stats.size = (uint)sizeof(iocph_port_stats);
        int rc = NativeMethods.iocph_port_get_stats(_port, &stats);
        if (rc != NativeErrors.Ok)
        {
            throw NativeErrors.CreateException(rc, disposedObjectName: GetType().FullName);
        }

        return new PortStatistics
        {
            WorkerThreads = (int)stats.worker_threads,
            OperationsInFlight = (long)stats.ops_in_flight,
            OperationsStarted = (long)stats.ops_started,
            CompletionsDelivered = (long)stats.completions_delivered,
            CallbackBatches = (long)stats.callback_batches,
            HandlesOpen = (long)stats.handles_open,
            OsWaits = (long)stats.os_waits,
        };
    }

    /// <summary>
    /// Posts a packet through the port (<c>PostQueuedCompletionStatus</c>): it travels the same path as
    /// I/O completions and completes the returned task with <paramref name="value"/>.
    /// </summary>
    /// <param name="key">The completion key the packet carries.</param>
    /// <param name="value">The value the packet carries back.</param>
    /// <param name="cancellationToken">
    /// Observed before the packet is posted only: a posted packet can't be withdrawn (the OS offers no
    /// cancellation for it), so once posted the task completes with the value when the packet arrives,
    /// which it does promptly, also during shutdown.
    /// </param>
    /// <returns>The posted value, read back from the delivered completion.</returns>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the packet was posted.</exception>
    public ValueTask<long> PostAsync(ulong key, long value, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<long>(cancellationToken);
        }

        PortOperation op = RentOperation();
        ulong userData = op.Prepare(OperationKind.Post, null, key, default, cancellationToken);
        short version = op.Version;
        int rc = NativeMethods.iocph_port_post(_port, key, userData, value);
        if (rc != NativeErrors.Ok)
        {
            op.Abandon();
            return ValueTask.FromException<long>(NativeErrors.CreateException(rc, disposedObjectName: GetType().FullName));
        }

        op.Started(0);
        return new ValueTask<long>(op, version);
    }

    /// <summary>
    /// Opens a file and associates it with this port.
    /// </summary>
    /// <param name="path">The file's path (relative paths are resolved against the current directory).</param>
    /// <param name="mode">
    /// How to open or create it, as for <see cref="FileStream"/>. Every mode other than
    /// <see cref="FileMode.Open"/> needs write access; <see cref="FileMode.Append"/> needs
    /// <see cref="FileAccess.Write"/> exactly, and its writes go to the end of the file whatever offset they name.
    /// </param>
    /// <param name="access">Read, write or both.</param>
    /// <param name="options">Buffered (default) or unbuffered.</param>
    /// <returns>The open file; dispose it to close it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or contains a NUL, or the mode and access don't go together.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An enum value is unknown.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory in the path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">Access is denied, or the path names a directory.</exception>
    /// <exception cref="IOException"><see cref="FileMode.CreateNew"/> and the file exists, or another OS error.</exception>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    public PortFile OpenFile(string path, FileMode mode, FileAccess access, PortFileOptions options = PortFileOptions.None)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.Contains('\0'))
        {
            throw new ArgumentException("The path contains a NUL character.", nameof(path));
        }

        uint flags = FileFlags(mode, access, options);
        ThrowIfDisposed();
        string fullPath = Path.GetFullPath(path);
        ulong key = NextKey();

        int byteCount = System.Text.Encoding.UTF8.GetByteCount(fullPath);
        byte[] utf8 = new byte[byteCount + 1];
        System.Text.Encoding.UTF8.GetBytes(fullPath, utf8);

        ulong handle;
        int rc;
        fixed (byte* p = utf8)
        {
            rc = NativeMethods.iocph_file_open(_port, (sbyte*)p, flags, key, &handle);
        }

        if (rc != NativeErrors.Ok)
        {
            throw rc == NativeErrors.BadHandle
                ? new ObjectDisposedException(GetType().FullName)
                : NativeErrors.CreateException(rc, path: fullPath);
        }

        return new PortFile(this, handle, key, fullPath, access, options, mode == FileMode.Append);
    }

    /// <summary>
    /// Creates a connected one-way pipe whose both ends are associated with this port (on Windows an
    /// overlapped named-pipe pair, on Linux a socket pair used one way).
    /// </summary>
    /// <returns>The pipe; its <see cref="PortPipe.Reader"/> and <see cref="PortPipe.Writer"/> can be disposed separately.</returns>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    /// <exception cref="IOException">The OS could not create the pipe.</exception>
    public PortPipe CreatePipe()
    {
        ThrowIfDisposed();
        ulong key = NextKey();
        ulong readEnd, writeEnd;
        int rc = NativeMethods.iocph_pipe_create(_port, key, &readEnd, &writeEnd);
        if (rc != NativeErrors.Ok)
        {
            throw rc == NativeErrors.BadHandle
                ? new ObjectDisposedException(GetType().FullName)
                : NativeErrors.CreateException(rc);
        }

        return new PortPipe(new PortPipeReader(this, readEnd, key), new PortPipeWriter(this, writeEnd, key));
    }

    private static uint FileFlags(FileMode mode, FileAccess access, PortFileOptions options)
    {
        if (access is not (FileAccess.Read or FileAccess.Write or FileAccess.ReadWrite))
        {
            throw new ArgumentOutOfRangeException(nameof(access), access, "Unknown FileAccess value.");
        }

        if ((options & ~PortFileOptions.Unbuffered) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options, "Unknown PortFileOptions value.");
        }

        uint flags = 0;
        if ((access & FileAccess.Read) != 0)
        {
            flags |= (uint)iocph_file_flags.IOCPH_FILE_READ;
        }

        if ((access & FileAccess.Write) != 0)
        {
            flags |= (uint)iocph_file_flags.IOCPH_FILE_WRITE;
        }

        bool write = (access & FileAccess.Write) != 0;
        switch (mode)
        {
            case FileMode.Open:
                break;
            case FileMode.OpenOrCreate:
                RequireWrite(write, mode);
                flags |= (uint)iocph_file_flags.IOCPH_FILE_CREATE;
                break;
            case FileMode.Create:
                RequireWrite(write, mode);
                flags |= (uint)(iocph_file_flags.IOCPH_FILE_CREATE | iocph_file_flags.IOCPH_FILE_TRUNCATE);
                break;
            case FileMode.CreateNew:
                RequireWrite(write, mode);
                flags |= (uint)(iocph_file_flags.IOCPH_FILE_CREATE | iocph_file_flags.IOCPH_FILE_EXCLUSIVE);
                break;
            case FileMode.Truncate:
                RequireWrite(write, mode);
                flags |= (uint)iocph_file_flags.IOCPH_FILE_TRUNCATE;
                break;
            case FileMode.Append:
                if (access != FileAccess.Write)
                {
                    throw new ArgumentException("FileMode.Append can only be used with FileAccess.Write.", nameof(access));
                }

                flags |= (uint)(iocph_file_flags.IOCPH_FILE_CREATE | iocph_file_flags.IOCPH_FILE_APPEND);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown FileMode value.");
        }

        if ((options & PortFileOptions.Unbuffered) != 0)
        {
            flags |= (uint)iocph_file_flags.IOCPH_FILE_UNBUFFERED;
        }

        return flags;

        static void RequireWrite(bool write, FileMode mode)
        {
            if (!write)
            {
                throw new ArgumentException($"FileMode.{mode} needs write access (FileAccess.Write or FileAccess.ReadWrite).", "access");
            }
        }
    }

    internal ulong NextKey() => (ulong)Interlocked.Increment(ref _nextKey);

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    /// <summary>
    /// Shuts the port down gracefully (see the class remarks) and frees it. Safe to call more than once.
    /// The wait for the workers runs on a thread-pool thread, so this may be awaited from a completion
    /// continuation, also with <see cref="CompletionPortOptions.InlineCompletions"/>.
    /// </summary>
    /// <returns>
    /// A task that completes when every operation has completed and the workers have exited; every
    /// caller gets it, also one whose call did not start the shutdown.
    /// </returns>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeState, 1) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static port => port.ShutdownOnce(), this, preferLocal: false);
        }

        return new ValueTask(_shutdown.Task);
    }

    /// <summary>
    /// Shuts the port down gracefully (see the class remarks) and frees it, blocking until every
    /// operation has completed and the workers have exited, also when another thread started the
    /// shutdown. Safe to call more than once.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// Called on one of this port's worker threads (from an inline completion): it would wait for itself.
    /// Use <see cref="DisposeAsync"/> there.
    /// </exception>
    public void Dispose()
    {
        if (t_callbackPort == this)
        {
            throw new InvalidOperationException("A completion port can't be disposed synchronously on its own worker thread (an inline completion); use DisposeAsync.");
        }

        if (Interlocked.Exchange(ref _disposeState, 1) == 0)
        {
            ShutdownOnce();
        }

        _shutdown.Task.GetAwaiter().GetResult();
    }

    /// <summary>Runs the shutdown (once: the caller won the race for _disposeState) and publishes its outcome to every caller.</summary>
    private void ShutdownOnce()
    {
        try
        {
            ShutdownCore();
            _shutdown.SetResult();
        }
        catch (Exception ex)
        {
            _shutdown.SetException(ex);
        }
    }

    private void ShutdownCore()
    {
        PortMetrics.PortClosed(this);
        ulong port = _port;
        int rc = NativeMethods.iocph_port_shutdown(port, uint.MaxValue);
        if (rc != NativeErrors.Ok && rc != NativeErrors.Shutdown)
        {
            throw NativeErrors.CreateException(rc);
        }

        rc = NativeMethods.iocph_port_destroy(port);
        if (rc != NativeErrors.Ok)
        {
            throw NativeErrors.CreateException(rc);
        }

        // The workers are joined, so no callback may use the context any more. The handle is not freed but
        // emptied: a late callback (a native bug) then finds no port and fails fast with a clear message,
        // where a freed, possibly reused handle would corrupt memory. Cost: one handle-table slot per port.
        _self.Target = null;
    }

    /// <summary>Takes an operation from the pool, or creates and registers one.</summary>
    internal PortOperation RentOperation()
    {
        if (_pool.TryDequeue(out PortOperation? op))
        {
            return op;
        }

        lock (_registryLock)
        {
            int id = _operationCount;
            PortOperation?[] table = _operations;
            if (id == table.Length)
            {
                Array.Resize(ref table, table.Length * 2);
                Volatile.Write(ref _operations, table);
            }

            op = new PortOperation(this, (uint)id);
            Volatile.Write(ref table[id], op);
            _operationCount = id + 1;
            return op;
        }
    }

    internal void ReturnOperation(PortOperation op) => _pool.Enqueue(op);

    /// <summary>Takes the rarely used fields an operation's use needs (accept, datagram, gather send, file write).</summary>
    internal PortOperation.Rare RentRare() => _rarePool.TryDequeue(out PortOperation.Rare? rare) ? rare : new PortOperation.Rare();

    internal void ReturnRare(PortOperation.Rare rare) => _rarePool.Enqueue(rare);

    /// <summary>
    /// Drops the registry's reference to a completed operation, so that it lives only as long as its
    /// task (see PortOperation.OnAcceptCompleted). Its id stays reserved: <see cref="Reroot"/> puts it back
    /// when the result is read; an operation collected instead leaves an empty slot. A completion for an
    /// empty slot is a native bug and fails fast, as for any unknown user_data.
    /// </summary>
    internal void Unroot(PortOperation op)
    {
        // Under the lock: a concurrent growth copies the table and must not copy the old reference back.
        lock (_registryLock)
        {
            Volatile.Write(ref _operations[op.Id], null);
        }
    }

    /// <summary>Registers an unrooted operation again before it goes back to the pool.</summary>
    internal void Reroot(PortOperation op)
    {
        lock (_registryLock)
        {
            Volatile.Write(ref _operations[op.Id], op);
        }
    }

    /// <summary>The number of pooled operation objects created so far (for tests of pooling).</summary>
    internal int OperationObjectCount => Volatile.Read(ref _operationCount);
}
