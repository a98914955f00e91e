using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// A file, pipe end or socket associated with a <see cref="CompletionPort"/>. Disposing it closes it: every
/// operation still in flight on it is cancelled and completes with <see cref="ObjectDisposedException"/>
/// (or <see cref="OperationCanceledException"/> when its own token was cancelled too, or with its result if
/// it had finished first).
/// </summary>
public abstract class PortHandle : IDisposable
{
    private readonly ulong _handle;
    private int _disposed;

    private protected PortHandle(CompletionPort port, ulong handle, ulong key)
    {
        Port = port;
        _handle = handle;
        Key = key;
    }

    /// <summary>Closes the native handle if the object was never disposed.</summary>
    ~PortHandle()
    {
        // An operation in flight references its handle object, so this runs only when none is.
        CloseNative();
    }

    /// <summary>The port this handle belongs to; its operations complete through it.</summary>
    public CompletionPort Port { get; }

    /// <summary>Whether <see cref="Dispose()"/> was called.</summary>
    public bool IsClosed => IsDisposed;

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal ulong NativeHandle => _handle;

    internal ulong Key { get; }

    /// <summary>
    /// Requests cancellation of every operation in flight on this handle. They complete with
    /// <see cref="OperationCanceledException"/> (or with their result if they finished first).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle or its port was disposed.</exception>
    public void CancelPendingOperations()
    {
        ThrowIfDisposed();
        int rc = NativeMethods.iocph_handle_cancel_all(_handle);
        if (rc != NativeErrors.Ok)
        {
            throw CreateStartException(rc);
        }
    }

    /// <summary>Closes the handle (see the class remarks). Safe to call more than once.</summary>
    public void Dispose()
    {
        CloseNative();
        GC.SuppressFinalize(this);
    }

    private void CloseNative()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // IOCPH_E_BADHANDLE: the port was destroyed, which closed the handle already.
            _ = NativeMethods.iocph_handle_close(_handle);
            OnClosed();
        }
    }

    /// <summary>Runs once, when the handle is closed (by <see cref="Dispose()"/> or the finalizer).</summary>
    private protected virtual void OnClosed()
    {
    }

    private protected void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        Port.ThrowIfDisposed();
    }

    /// <summary>The exception for a native start failure on this handle.</summary>
    private protected Exception CreateStartException(int status)
    {
        if (status == NativeErrors.BadHandle)
        {
            // Closed concurrently, or closed by the port's destruction.
            return Port.IsDisposed
                ? new ObjectDisposedException(typeof(CompletionPort).FullName)
                : new ObjectDisposedException(GetType().FullName);
        }

        if (this is PortSocket)
        {
            return NativeErrors.CreateSocketException(status);
        }

        return NativeErrors.CreateException(status, 0, (this as PortFile)?.Path, GetType().FullName);
    }

    /// <summary>
    /// Starts one buffer operation and returns its pooled task. The caller validated the arguments,
    /// checked the token and made sure the length is 1..<c>IOCPH_MAX_IO_LENGTH</c>.
    /// </summary>
    private protected unsafe ValueTask<int> StartBufferOperation(OperationKind kind, ReadOnlyMemory<byte> buffer, ulong offset, bool checkAlignment, CancellationToken cancellationToken)
    {
        CompletionPort port = Port;
        System.Buffers.MemoryHandle pin = buffer.Pin();
        if (checkAlignment && ((nuint)pin.Pointer % PortFile.UnbufferedAlignment) != 0)
        {
            pin.Dispose();
            throw new ArgumentException($"An unbuffered file needs a buffer whose address is a multiple of {PortFile.UnbufferedAlignment} (see PortFile.AllocateAlignedBuffer).", "buffer");
        }

        PortOperation op = port.RentOperation();
        void* pointer = pin.Pointer;
        ulong userData = op.Prepare(kind, this, Key, pin, cancellationToken);
        short version = op.Version;
        uint length = (uint)buffer.Length;
        if (kind == OperationKind.FileWrite)
        {
            op.SetWrite(length, offset);
        }

        ulong nativeOp = 0;
        int rc = kind switch
        {
            OperationKind.FileRead => NativeMethods.iocph_file_read(_handle, pointer, length, offset, userData, &nativeOp),
            OperationKind.FileWrite => NativeMethods.iocph_file_write(_handle, pointer, length, offset, userData, &nativeOp),
            OperationKind.PipeRead => NativeMethods.iocph_pipe_read(_handle, pointer, length, userData, &nativeOp),
            OperationKind.PipeWrite => NativeMethods.iocph_pipe_write(_handle, pointer, length, userData, &nativeOp),
            _ => NativeErrors.InvalidArgument,
        };

        if (rc != NativeErrors.Ok)
        {
            op.Abandon();
            return ValueTask.FromException<int>(CreateStartException(rc));
        }

        op.Started(nativeOp);
        return new ValueTask<int>(op, version);
    }

    /// <summary>Starts a flush and returns its pooled task.</summary>
    private protected unsafe ValueTask StartFlush(CancellationToken cancellationToken)
    {
        PortOperation op = Port.RentOperation();
        ulong userData = op.Prepare(OperationKind.FileFlush, this, Key, default, cancellationToken);
        short version = op.Version;
        ulong nativeOp = 0;
        int rc = NativeMethods.iocph_file_flush(_handle, userData, &nativeOp);
        if (rc != NativeErrors.Ok)
        {
            op.Abandon();
            return ValueTask.FromException(CreateStartException(rc));
        }

        op.Started(nativeOp);
        return new ValueTask(op, version);
    }
}
