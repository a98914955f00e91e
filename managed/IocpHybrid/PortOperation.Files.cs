using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// The file half of <see cref="PortOperation"/>: a write completes only when every byte is written, as
/// RandomAccess.WriteAsync does. One native write may take fewer bytes than asked, which the OS reports
/// as a success (a FIFO, an interrupted write, a file size limit or a full disk reached midway); the
/// operation then starts the rest itself, before it publishes anything, so the caller's task stays the
/// one pooled task with no extra await per write (which would also cost an allocation where the JIT
/// keeps awaiters boxed).
/// </summary>
internal sealed unsafe partial class PortOperation
{
    // A file write's length, offset and progress live in the side object of rarely used fields
    // (Rare, PortOperation.Sockets.cs), taken from the port's pool for the write: not on every pending receive.

    /// <summary>A file write: records the whole length and the offset, before the native start.</summary>
    internal void SetWrite(uint length, ulong offset)
    {
        Rare rare = Extra;
        rare.WriteLength = length;
        rare.WriteOffset = offset;
        rare.Written = 0;
    }

    /// <summary>
    /// Called by <see cref="Complete"/> with both halves of the handshake done. After a short write, starts
    /// the native write of the rest and returns <see langword="true"/>: the caller then performs the
    /// starter's half of the handshake again. Otherwise leaves the final outcome in <see cref="_result"/>
    /// (the whole length, or an error) and returns <see langword="false"/>.
    /// </summary>
    private bool ContinueShortWrite()
    {
        if (_result < 0)
        {
            return false; // an error (also after a part was written: as RandomAccess, the data may be partly written)
        }

        Rare rare = _rare!;
        rare.Written += (uint)_result;
        if (rare.Written >= rare.WriteLength)
        {
            _result = rare.WriteLength;
            return false;
        }

        if (_result == 0)
        {
            _result = NativeErrors.IoError; // no progress: retrying could loop forever
            return false;
        }

        if (CancellationToken.IsCancellationRequested)
        {
            _result = NativeErrors.Canceled;
            return false;
        }

        ulong userData = BeginNativeUse();
        ulong nativeOp = 0;
        // In append mode the native side ignores the offset: the rest goes to the end, right after the part written.
        int rc = NativeMethods.iocph_file_write(_owner!.NativeHandle, (byte*)_pin.Pointer + rare.Written, rare.WriteLength - rare.Written, rare.WriteOffset + rare.Written, userData, &nativeOp);
        if (rc != NativeErrors.Ok)
        {
            Volatile.Write(ref _inFlight, 0);
            _result = rc; // no completion will come: the start's error is the outcome
            return false;
        }

        // The cancellation callback may have run with the previous native operation, which had completed
        // (IOCPH_E_NOTPENDING): publish the new one with a full fence, then look at the token. Either this
        // sees the cancellation, or the callback (which runs after the token is marked) sees the new operation.
        Interlocked.Exchange(ref _nativeOperation, nativeOp);
        if (CancellationToken.IsCancellationRequested)
        {
            CancelNative();
        }

        return true;
    }
}
