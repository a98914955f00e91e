namespace IocpHybrid;

/// <summary>The write end of a <see cref="PortPipe"/>. Disposing it signals end of stream to the reader.</summary>
public sealed class PortPipeWriter : PortHandle
{
    internal PortPipeWriter(CompletionPort port, ulong handle, ulong key)
        : base(port, handle, key)
    {
    }

    /// <summary>
    /// Writes the whole buffer, waiting while the pipe is full.
    /// </summary>
    /// <param name="buffer">The data; at most <see cref="PortFile.MaxIoLength"/> bytes.</param>
    /// <param name="cancellationToken">Cancels the native write; the task then ends with an
    /// <see cref="OperationCanceledException"/> carrying this token, unless it finished first.</param>
    /// <returns>The number of bytes written: <c>buffer.Length</c> (fewer only when the write was cancelled after part of it went through).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The buffer is longer than <see cref="PortFile.MaxIoLength"/>.</exception>
    /// <exception cref="ObjectDisposedException">The writer or its port was disposed (also when that happens while the write is in flight).</exception>
    /// <exception cref="IOException">The read end was closed (broken pipe), or another OS error; the message carries the OS error.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask<int> WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.Length > PortFile.MaxIoLength)
        {
            throw new ArgumentOutOfRangeException(nameof(buffer), buffer.Length, $"One write transfers at most {PortFile.MaxIoLength} bytes.");
        }

        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        if (buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }

        return StartBufferOperation(OperationKind.PipeWrite, buffer, 0, checkAlignment: false, cancellationToken);
    }

    /// <summary>Writes part of an array (see <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>).</summary>
    /// <param name="buffer">The data.</param>
    /// <param name="offset">Where the data starts in <paramref name="buffer"/>.</param>
    /// <param name="count">How many bytes to write.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The number of bytes written.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the array.</exception>
    /// <exception cref="ObjectDisposedException">The writer or its port was disposed.</exception>
    /// <exception cref="IOException">The read end was closed (broken pipe), or another OS error.</exception>
    public Task<int> WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken = default)
    {
        PortFile.ValidateArray(buffer, offset, count);
        return WriteAsync(new ReadOnlyMemory<byte>(buffer, offset, count), cancellationToken).AsTask();
    }
}
