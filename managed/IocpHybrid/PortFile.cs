using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// A file opened through a <see cref="CompletionPort"/> (<see cref="CompletionPort.OpenFile"/>), read
/// and written at explicit offsets like <see cref="RandomAccess"/>: any number of operations may be in
/// flight at once, from any threads. The file has no position.
/// </summary>
/// <remarks>
/// Reads and writes that return <see cref="ValueTask{TResult}"/> allocate nothing once the port's pool of
/// operations is warm; each such task may be awaited once. The buffer must not be touched until the
/// task completes: it stays pinned until the native operation finished, also after a cancellation.
/// </remarks>
public sealed class PortFile : PortHandle
{
    /// <summary>
    /// The alignment, in bytes, that unbuffered files need for buffer addresses, lengths and offsets
    /// (<c>IOCPH_UNBUFFERED_ALIGNMENT</c>).
    /// </summary>
    public const int UnbufferedAlignment = (int)NativeMethods.IOCPH_UNBUFFERED_ALIGNMENT;

    /// <summary>The largest length one native read or write transfers (<c>IOCPH_MAX_IO_LENGTH</c>).</summary>
    public const int MaxIoLength = (int)NativeMethods.IOCPH_MAX_IO_LENGTH;

    private readonly FileAccess _access;
    private readonly bool _append;

    // Whether reads try the page cache first: never for unbuffered files (nothing of theirs is cached)
    // nor on IOCP, whose backend always declines (Windows has no nonblocking cached read).
    private readonly bool _tryReads;

    internal PortFile(CompletionPort port, ulong handle, ulong key, string path, FileAccess access, PortFileOptions options, bool append)
        : base(port, handle, key)
    {
        Path = path;
        _access = access;
        Options = options;
        _append = append;
        _tryReads = (options & PortFileOptions.Unbuffered) == 0 && port.Backend != CompletionPortBackend.Iocp;
    }

    /// <summary>The full path the file was opened with.</summary>
    public string Path { get; }

    /// <summary>The options the file was opened with.</summary>
    public PortFileOptions Options { get; }

    /// <summary>Whether the file was opened for reading.</summary>
    public bool CanRead => (_access & FileAccess.Read) != 0;

    /// <summary>Whether the file was opened for writing.</summary>
    public bool CanWrite => (_access & FileAccess.Write) != 0;

    private bool IsUnbuffered => (Options & PortFileOptions.Unbuffered) != 0;

    /// <summary>The file's current length in bytes.</summary>
    /// <exception cref="ObjectDisposedException">The file or its port was disposed.</exception>
    /// <exception cref="IOException">The OS could not tell.</exception>
    public unsafe long Length
    {
        get
        {
            ThrowIfDisposed();
            ulong length;
            int rc = NativeMethods.iocph_file_get_length(NativeHandle, &length);
            if (rc != NativeErrors.Ok)
            {
                throw CreateStartException(rc);
            }

            return (long)length;
        }
    }

    /// <summary>
    /// Allocates a buffer suitable for unbuffered I/O: its address and length are multiples of
    /// <see cref="UnbufferedAlignment"/>. It lives on the pinned object heap, so pinning it costs nothing.
    /// </summary>
    /// <param name="length">The length in bytes: a positive multiple of <see cref="UnbufferedAlignment"/>.</param>
    /// <returns>A zeroed buffer of exactly <paramref name="length"/> bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is not positive or not a multiple of the alignment.</exception>
    public static unsafe Memory<byte> AllocateAlignedBuffer(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (length % UnbufferedAlignment != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"The length must be a multiple of {UnbufferedAlignment}.");
        }

        byte[] array = GC.AllocateArray<byte>(length + UnbufferedAlignment, pinned: true);
        nuint address = (nuint)System.Runtime.CompilerServices.Unsafe.AsPointer(ref array[0]);
        int skip = (int)((UnbufferedAlignment - (address % UnbufferedAlignment)) % UnbufferedAlignment);
        return new Memory<byte>(array, skip, length);
    }

    /// <summary>
    /// Reads up to <c>buffer.Length</c> bytes at <paramref name="fileOffset"/>.
    /// </summary>
    /// <param name="buffer">Receives the data. Lengths above <see cref="MaxIoLength"/> read at most that many bytes.</param>
    /// <param name="fileOffset">Where to read in the file.</param>
    /// <param name="cancellationToken">Cancels the native operation; the task then ends with an
    /// <see cref="OperationCanceledException"/> carrying this token, unless the read finished first.</param>
    /// <returns>The number of bytes read: 0 at or past the end of the file (or for an empty buffer).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="ArgumentException">An unbuffered file and a misaligned buffer, length or offset.</exception>
    /// <exception cref="UnauthorizedAccessException">The file was not opened for reading.</exception>
    /// <exception cref="ObjectDisposedException">The file or its port was disposed (also when that happens while the read is in flight).</exception>
    /// <exception cref="IOException">The OS reported an error; the message carries the OS error.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fileOffset);
        ThrowIfDisposed();
        if (!CanRead)
        {
            throw new UnauthorizedAccessException($"The file was not opened for reading: '{Path}'.");
        }

        if (buffer.Length > MaxIoLength)
        {
            buffer = buffer[..(IsUnbuffered ? MaxIoLength / UnbufferedAlignment * UnbufferedAlignment : MaxIoLength)];
        }

        ValidateUnbuffered(buffer.Length, fileOffset);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        if (buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }

        if (_tryReads)
        {
            int rc = TryReadNow(buffer.Span, fileOffset, out int read);
            if (rc == NativeErrors.Ok)
            {
                PortMetrics.OperationCompletedAtOnce(OperationKind.FileRead);
                return new ValueTask<int>(read);
            }

            if (rc != NativeErrors.WouldBlock)
            {
                return ValueTask.FromException<int>(CreateStartException(rc));
            }
        }

        return StartBufferOperation(OperationKind.FileRead, buffer, (ulong)fileOffset, IsUnbuffered, cancellationToken);
    }

    /// <summary>
    /// One nonblocking read of data already in the page cache (iocph_file_try_read: preadv2 with
    /// RWF_NOWAIT): a cached read then costs one system call on the caller's thread and returns a
    /// completed task, like <see cref="RandomAccess"/>'s pread, instead of a trip through the port.
    /// </summary>
    private unsafe int TryReadNow(Span<byte> buffer, long fileOffset, out int read)
    {
        uint n = 0;
        int rc;
        fixed (byte* p = buffer)
        {
            rc = NativeMethods.iocph_file_try_read(NativeHandle, p, (uint)buffer.Length, (ulong)fileOffset, &n);
        }

        read = (int)n;
        return rc;
    }

    /// <summary>
    /// Reads up to <paramref name="count"/> bytes at <paramref name="fileOffset"/> into an array.
    /// </summary>
    /// <param name="buffer">Receives the data.</param>
    /// <param name="offset">Where in <paramref name="buffer"/> the data goes.</param>
    /// <param name="count">The most bytes to read.</param>
    /// <param name="fileOffset">Where to read in the file.</param>
    /// <param name="cancellationToken">Cancels the read (see <see cref="ReadAsync(Memory{byte}, long, CancellationToken)"/>).</param>
    /// <returns>The number of bytes read: 0 at or past the end of the file.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the array, or <paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="ArgumentException">An unbuffered file and a misaligned buffer, length or offset.</exception>
    /// <exception cref="UnauthorizedAccessException">The file was not opened for reading.</exception>
    /// <exception cref="ObjectDisposedException">The file or its port was disposed.</exception>
    /// <exception cref="IOException">The OS reported an error.</exception>
    public Task<int> ReadAsync(byte[] buffer, int offset, int count, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateArray(buffer, offset, count);
        return ReadAsync(new Memory<byte>(buffer, offset, count), fileOffset, cancellationToken).AsTask();
    }

    /// <summary>
    /// Writes <c>buffer.Length</c> bytes at <paramref name="fileOffset"/> (at the end of the file when it was
    /// opened with <see cref="FileMode.Append"/>).
    /// </summary>
    /// <param name="buffer">The data; at most <see cref="MaxIoLength"/> bytes.</param>
    /// <param name="fileOffset">Where to write in the file (ignored in append mode).</param>
    /// <param name="cancellationToken">Cancels the native operation; the task then ends with an
    /// <see cref="OperationCanceledException"/> carrying this token, unless the write finished first.</param>
    /// <returns>
    /// <c>buffer.Length</c>: like <see cref="RandomAccess.WriteAsync(Microsoft.Win32.SafeHandles.SafeFileHandle, ReadOnlyMemory{byte}, long, CancellationToken)"/>,
    /// the task completes only when every byte is written, or fails. When the OS takes a write in parts
    /// (a FIFO, an interrupted write, a file size limit reached midway), the rest is written after it.
    /// The count carries no other information; it is returned so that code written against earlier
    /// versions (<c>int written = await file.WriteAsync(...)</c>) still compiles.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileOffset"/> is negative, or the buffer is longer than <see cref="MaxIoLength"/>.</exception>
    /// <exception cref="ArgumentException">An unbuffered file and a misaligned buffer, length or offset.</exception>
    /// <exception cref="UnauthorizedAccessException">The file was not opened for writing.</exception>
    /// <exception cref="ObjectDisposedException">The file or its port was disposed (also when that happens while the write is in flight).</exception>
    /// <exception cref="IOException">
    /// The OS reported an error (disk full, device error; the message carries the OS error), or accepted
    /// no byte of what was left. As with <see cref="RandomAccess"/>, a write that fails or is cancelled
    /// may have written part of the data.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask<int> WriteAsync(ReadOnlyMemory<byte> buffer, long fileOffset, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fileOffset);
        if (buffer.Length > MaxIoLength)
        {
            throw new ArgumentOutOfRangeException(nameof(buffer), buffer.Length, $"One write transfers at most {MaxIoLength} bytes.");
        }

        ThrowIfDisposed();
        if (!CanWrite)
        {
            throw new UnauthorizedAccessException($"The file was not opened for writing: '{Path}'.");
        }

        ValidateUnbuffered(buffer.Length, _append ? 0 : fileOffset);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        if (buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }

        // A write the OS takes in parts is finished inside the operation (PortOperation.Files.cs): the
        // task completes when every byte is written, with no extra await per write.
        return StartBufferOperation(OperationKind.FileWrite, buffer, (ulong)fileOffset, IsUnbuffered, cancellationToken);
    }

    /// <summary>
    /// Writes <paramref name="count"/> bytes of an array at <paramref name="fileOffset"/>.
    /// </summary>
    /// <param name="buffer">The data.</param>
    /// <param name="offset">Where the data starts in <paramref name="buffer"/>.</param>
    /// <param name="count">How many bytes to write.</param>
    /// <param name="fileOffset">Where to write in the file (ignored in append mode).</param>
    /// <param name="cancellationToken">Cancels the write (see <see cref="WriteAsync(ReadOnlyMemory{byte}, long, CancellationToken)"/>).</param>
    /// <returns><paramref name="count"/>: the task completes when every byte is written (see <see cref="WriteAsync(ReadOnlyMemory{byte}, long, CancellationToken)"/>).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the array, or <paramref name="fileOffset"/> is negative.</exception>
    /// <exception cref="ArgumentException">An unbuffered file and a misaligned buffer, length or offset.</exception>
    /// <exception cref="UnauthorizedAccessException">The file was not opened for writing.</exception>
    /// <exception cref="ObjectDisposedException">The file or its port was disposed.</exception>
    /// <exception cref="IOException">The OS reported an error.</exception>
    public Task<int> WriteAsync(byte[] buffer, int offset, int count, long fileOffset, CancellationToken cancellationToken = default)
    {
        ValidateArray(buffer, offset, count);
        return WriteAsync(new ReadOnlyMemory<byte>(buffer, offset, count), fileOffset, cancellationToken).AsTask();
    }

    /// <summary>
    /// Flushes the file's data and metadata to the device (<c>fsync</c> / <c>FlushFileBuffers</c>).
    /// </summary>
    /// <param name="cancellationToken">Cancels the flush where the OS can; the task then ends with an
    /// <see cref="OperationCanceledException"/> carrying this token.</param>
    /// <returns>A task that completes when the data is on the device. Like the reads and writes, it is a
    /// pooled <see cref="ValueTask"/> rather than the <see cref="Task"/> of <see cref="Stream.FlushAsync(CancellationToken)"/>.</returns>
    /// <exception cref="ObjectDisposedException">The file or its port was disposed.</exception>
    /// <exception cref="IOException">The OS reported an error.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return StartFlush(cancellationToken);
    }

    private void ValidateUnbuffered(int length, long fileOffset)
    {
        if (IsUnbuffered && (length % UnbufferedAlignment != 0 || fileOffset % UnbufferedAlignment != 0))
        {
            throw new ArgumentException($"An unbuffered file needs lengths and offsets that are multiples of {UnbufferedAlignment} (length {length}, offset {fileOffset}).");
        }
    }

    internal static void ValidateArray(byte[] buffer, int offset, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, buffer.Length);
        if ((uint)count > (uint)(buffer.Length - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "offset and count describe a range outside the buffer.");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Path;
}
