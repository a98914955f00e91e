using System.Net.Sockets;

namespace IocpHybrid;

/// <summary>
/// A <see cref="Stream"/> over a <see cref="PortTcpConnection"/>, for APIs that take a stream
/// (<c>SslStream</c>, <see cref="StreamReader"/>, <see cref="Stream.CopyToAsync(Stream)"/>). Reads return
/// what has arrived (0 at the end: the peer closed its side); writes complete when every byte is sent.
/// Not seekable. The synchronous members block on the asynchronous ones.
/// </summary>
/// <remarks>
/// The blocking <see cref="Read(byte[], int, int)"/> and <see cref="Write(byte[], int, int)"/> (and the
/// members built on them: <see cref="Stream.ReadByte"/>, <see cref="Stream.CopyTo(Stream)"/>, ...) can't
/// be used on a worker thread of the connection's port, that is, in a continuation run inline with
/// <see cref="CompletionPortOptions.InlineCompletions"/>: the operation they would wait for can only be
/// started and completed by that worker, so the wait would never end, and every other connection of
/// the worker would stall meanwhile. They throw <see cref="InvalidOperationException"/> there, every
/// time (not only when the wait would actually hang); use the asynchronous members.
/// </remarks>
public sealed class PortNetworkStream : Stream
{
    private readonly bool _ownsConnection;
    private int _disposed;

    /// <summary>Creates a stream over a connection.</summary>
    /// <param name="connection">The connection to read and write.</param>
    /// <param name="ownsConnection">Whether disposing the stream disposes the connection.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is <see langword="null"/>.</exception>
    public PortNetworkStream(PortTcpConnection connection, bool ownsConnection = false)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
        _ownsConnection = ownsConnection;
    }

    /// <summary>The connection underneath.</summary>
    public PortTcpConnection Connection { get; }

    /// <inheritdoc/>
    public override bool CanRead => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc/>
    public override bool CanWrite => Volatile.Read(ref _disposed) == 0;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanTimeout => true;

    /// <summary>The connection's <see cref="PortTcpConnection.ReceiveTimeout"/> (milliseconds; 0 = none).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value set is less than -1.</exception>
    public override int ReadTimeout
    {
        get => Connection.ReceiveTimeout;
        set => Connection.ReceiveTimeout = value;
    }

    /// <summary>The connection's <see cref="PortTcpConnection.SendTimeout"/> (milliseconds; 0 = none).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value set is less than -1.</exception>
    public override int WriteTimeout
    {
        get => Connection.SendTimeout;
        set => Connection.SendTimeout = value;
    }

    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Length => throw new NotSupportedException();

    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return WrapErrors(Connection.ReceiveAsync(buffer, cancellationToken));
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <inheritdoc/>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        try
        {
            await Connection.SendAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new IOException($"Unable to write data to the transport connection: {ex.Message}", ex);
        }
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Reads as <see cref="ReadAsync(Memory{byte}, CancellationToken)"/> does, blocking until it completes.</summary>
    /// <param name="buffer">Receives the data.</param>
    /// <param name="offset">Where in <paramref name="buffer"/> the data goes.</param>
    /// <param name="count">The most bytes to read.</param>
    /// <returns>The number of bytes read; 0 when the peer closed its side.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> and <paramref name="count"/> describe a range outside the array.</exception>
    /// <exception cref="InvalidOperationException">Called on a worker thread of the connection's port (an inline completion): see the class remarks.</exception>
    /// <exception cref="IOException">The receive failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream, its connection or its port was disposed.</exception>
    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        ThrowIfOnWorker(nameof(Read), nameof(ReadAsync));
        return ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Writes as <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> does, blocking until every byte is sent.</summary>
    /// <param name="buffer">The data.</param>
    /// <param name="offset">Where the data starts in <paramref name="buffer"/>.</param>
    /// <param name="count">How many bytes to write.</param>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> and <paramref name="count"/> describe a range outside the array.</exception>
    /// <exception cref="InvalidOperationException">Called on a worker thread of the connection's port (an inline completion): see the class remarks.</exception>
    /// <exception cref="IOException">The send failed.</exception>
    /// <exception cref="ObjectDisposedException">The stream, its connection or its port was disposed.</exception>
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        ThrowIfOnWorker(nameof(Write), nameof(WriteAsync));
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Does nothing: writes are not buffered.</summary>
    public override void Flush()
    {
    }

    /// <summary>Does nothing: writes are not buffered.</summary>
    /// <param name="cancellationToken">Ignored unless already cancelled.</param>
    /// <returns>A completed task, or a cancelled one.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was already cancelled.</exception>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? Task.FromCanceled(cancellationToken) : Task.CompletedTask;

    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <summary>Not supported.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0 && disposing && _ownsConnection)
        {
            Connection.Dispose();
        }

        base.Dispose(disposing);
    }

    private void ThrowIfOnWorker(string member, string asyncMember)
    {
        if (Connection.Port.IsCurrentThreadWorker)
        {
            throw new InvalidOperationException(
                $"PortNetworkStream.{member} can't block on a worker thread of the connection's completion port (a continuation run inline): " +
                $"the operation it would wait for needs this thread. Use {asyncMember} there.");
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private static ValueTask<int> WrapErrors(ValueTask<int> receive)
    {
        // The common case (pending or done) stays allocation-free; errors are wrapped as NetworkStream does.
        if (receive.IsCompletedSuccessfully)
        {
            return receive;
        }

        return receive.IsCompleted ? AwaitWrapped(receive) : AwaitWrappedPending(receive);
    }

    private static async ValueTask<int> AwaitWrapped(ValueTask<int> receive)
    {
        try
        {
            return await receive.ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new IOException($"Unable to read data from the transport connection: {ex.Message}", ex);
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AwaitWrappedPending(ValueTask<int> receive)
    {
        try
        {
            return await receive.ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new IOException($"Unable to read data from the transport connection: {ex.Message}", ex);
        }
    }
}
