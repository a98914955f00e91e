namespace IocpHybrid;

/// <summary>The read end of a <see cref="PortPipe"/>.</summary>
public sealed class PortPipeReader : PortHandle
{
    internal PortPipeReader(CompletionPort port, ulong handle, ulong key)
        : base(port, handle, key)
    {
    }

    /// <summary>
    /// Reads whatever is available, 1 to <c>buffer.Length</c> bytes, waiting until data arrives (a read
    /// can wait forever, until data comes, the write end is closed, or it is cancelled).
    /// </summary>
    /// <param name="buffer">Receives the data. Lengths above <see cref="PortFile.MaxIoLength"/> read at most that many bytes.</param>
    /// <param name="cancellationToken">Cancels the native read; the task then ends with an
    /// <see cref="OperationCanceledException"/> carrying this token, unless data arrived first.</param>
    /// <returns>The number of bytes read; 0 when the write end was closed (or for an empty buffer).</returns>
    /// <exception cref="ObjectDisposedException">The reader or its port was disposed (also when that happens while the read is in flight).</exception>
    /// <exception cref="IOException">The OS reported an error; the message carries the OS error.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        if (buffer.IsEmpty)
        {
            return new ValueTask<int>(0);
        }

        if (buffer.Length > PortFile.MaxIoLength)
        {
            buffer = buffer[..PortFile.MaxIoLength];
        }

        return StartBufferOperation(OperationKind.PipeRead, buffer, 0, checkAlignment: false, cancellationToken);
    }

    /// <summary>Reads whatever is available into an array (see <see cref="ReadAsync(Memory{byte}, CancellationToken)"/>).</summary>
    /// <param name="buffer">Receives the data.</param>
    /// <param name="offset">Where in <paramref name="buffer"/> the data goes.</param>
    /// <param name="count">The most bytes to read.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The number of bytes read; 0 when the write end was closed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the array.</exception>
    /// <exception cref="ObjectDisposedException">The reader or its port was disposed.</exception>
    /// <exception cref="IOException">The OS reported an error.</exception>
    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken = default)
    {
        PortFile.ValidateArray(buffer, offset, count);
        return ReadAsync(new Memory<byte>(buffer, offset, count), cancellationToken).AsTask();
    }
}
