using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace IocpHybrid;

/// <summary>
/// A TCP connection as an <see cref="IDuplexPipe"/> (System.IO.Pipelines): a receive loop fills
/// <see cref="Input"/> and a send loop sends what the application writes to <see cref="Output"/>.
/// </summary>
/// <remarks>
/// <para>
/// The receive loop waits for data with an empty receive before it takes a buffer from the pool
/// (<see cref="PortDuplexPipeOptions.WaitForDataBeforeAllocatingBuffer"/>), receives into pinned pooled
/// memory and flushes; when the application reads less than it is sent, the input pipe's threshold
/// (<see cref="PortDuplexPipeOptions.MaxReadBufferSize"/>) stops the loop until it catches up. The send
/// loop sends each buffered <see cref="ReadOnlySequence{T}"/> as one gather send.
/// </para>
/// <para>
/// Closing: when the application completes <see cref="Output"/>, what it wrote is sent, then the
/// connection is shut down and closed, and <see cref="Input"/> completes. <see cref="Abort(Exception?)"/>
/// closes at once. A peer that closes its side completes <see cref="Input"/> (a reset: with the
/// <see cref="SocketException"/>) and cancels <see cref="ConnectionClosed"/>. The pipe owns the connection:
/// do not use it directly once the pipe is made. <see cref="DisposeAsync"/> completes both pipes and waits
/// for the loops.
/// </para>
/// </remarks>
public sealed class PortDuplexPipe : IDuplexPipe, IAsyncDisposable
{
    private readonly PortTcpConnection _connection;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly bool _waitForData;
    private readonly Func<Exception, Exception>? _receiveErrorMap;
    private readonly CancellationTokenSource _closed = new();
    private readonly object _shutdownLock = new();
    private readonly Task _processing;
    private bool _shutDown;
    private Exception? _shutdownReason;
    private int _closedFired;

    /// <summary>Makes a pipe over a connection and starts its receive and send loops.</summary>
    /// <param name="connection">The connection; the pipe owns it from now on.</param>
    /// <param name="options">Buffering and scheduling; <see langword="null"/> = the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="connection"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public PortDuplexPipe(PortTcpConnection connection, PortDuplexPipeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ObjectDisposedException.ThrowIf(connection.IsDisposed, connection);
        options ??= new PortDuplexPipeOptions();
        _connection = connection;
        _waitForData = options.WaitForDataBeforeAllocatingBuffer;
        _receiveErrorMap = options.ReceiveErrorMap;
        MemoryPool = options.MemoryPool ?? PinnedBlockMemoryPool.Default;
        PipeScheduler application = options.UnsafePreferInlineScheduling ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        int segment = Math.Min(MemoryPool.MaxBufferSize, PinnedBlockMemoryPool.BlockSize);
        _input = new Pipe(new PipeOptions(
            MemoryPool, readerScheduler: application, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: options.MaxReadBufferSize, resumeWriterThreshold: options.MaxReadBufferSize / 2,
            minimumSegmentSize: segment, useSynchronizationContext: false));
        // The send loop runs where the application's flush lands it: inline, each flush is a send of
        // its own (a response written as headers, then body is two TCP segments); on the thread pool,
        // the flushes the application makes before the loop gets its turn go out as one gather send,
        // as Kestrel's sockets transport does with its I/O queues.
        _output = new Pipe(new PipeOptions(
            MemoryPool, readerScheduler: application, writerScheduler: application,
            pauseWriterThreshold: options.MaxWriteBufferSize, resumeWriterThreshold: options.MaxWriteBufferSize / 2,
            minimumSegmentSize: segment, useSynchronizationContext: false));
        ConnectionClosed = _closed.Token;
        _processing = RunAsync();
    }

    /// <summary>What the peer sent.</summary>
    public PipeReader Input => _input.Reader;

    /// <summary>What to send to the peer.</summary>
    public PipeWriter Output => _output.Writer;

    /// <summary>The connection under the pipe (its endpoints and options); read and write through the pipe only.</summary>
    public PortTcpConnection Connection => _connection;

    /// <summary>The pool the pipes take their buffers from.</summary>
    public MemoryPool<byte> MemoryPool { get; }

    /// <summary>Cancelled when the receive side ended: the peer closed or reset, or the pipe was aborted or disposed.</summary>
    public CancellationToken ConnectionClosed { get; }

    /// <summary>Completes when both loops have ended and the connection is closed.</summary>
    public Task Completion => _processing;

    /// <summary>Closes the connection at once: pending sends and receives end, <see cref="Input"/> completes with <paramref name="reason"/>.</summary>
    /// <param name="reason">What the application's reads of <see cref="Input"/> then throw; <see langword="null"/> = an <see cref="IOException"/> saying the connection was aborted.</param>
    public void Abort(Exception? reason = null)
    {
        Shutdown(reason ?? new IOException("The connection was aborted by the application."));
        _output.Reader.CancelPendingRead();
    }

    /// <summary>Completes both pipes (what was written is still sent), waits for the loops and closes the connection.</summary>
    /// <returns>A task that completes when the connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        _input.Reader.Complete();
        _output.Writer.Complete();
        await _processing.ConfigureAwait(false);
        _closed.Dispose();
    }

    private async Task RunAsync()
    {
        // Both loops start at once; the first await of each leaves this method.
        Task receiving = ReceiveLoopAsync();
        Task sending = SendLoopAsync();
        await receiving.ConfigureAwait(false);
        await sending.ConfigureAwait(false);
    }

    private async Task ReceiveLoopAsync()
    {
        await Task.Yield(); // the constructor returns before the first receive waits
        Exception? error = null;
        PipeWriter input = _input.Writer;
        try
        {
            while (true)
            {
                if (_waitForData)
                {
                    await _connection.ReceiveAsync(Memory<byte>.Empty).ConfigureAwait(false);
                }

                Memory<byte> buffer = input.GetMemory(PinnedBlockMemoryPool.BlockSize / 2);
                int received = await _connection.ReceiveAsync(buffer).ConfigureAwait(false);
                if (received == 0)
                {
                    break; // the peer closed its side
                }

                input.Advance(received);
                FlushResult flushed = await input.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break; // the application stopped reading
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            error = _receiveErrorMap is null ? ex : _receiveErrorMap(ex);
        }
        finally
        {
            // After a shutdown by the application, that is the reason the loop ended.
            Exception? reason;
            lock (_shutdownLock)
            {
                reason = _shutDown ? _shutdownReason : error;
            }

            await input.CompleteAsync(reason).ConfigureAwait(false);
            FireConnectionClosed();
        }
    }

    private async Task SendLoopAsync()
    {
        Exception? shutdownReason = null;
        Exception? unexpected = null;
        PipeReader output = _output.Reader;
        try
        {
            while (true)
            {
                ReadResult result = await output.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                ReadOnlySequence<byte> buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    await _connection.SendAsync(buffer).ConfigureAwait(false);
                }

                output.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            shutdownReason = ex;
        }
        catch (Exception ex)
        {
            shutdownReason = ex;
            unexpected = ex;
        }
        finally
        {
            Shutdown(shutdownReason);
            await output.CompleteAsync(unexpected).ConfigureAwait(false);

            // A receive loop paused by back-pressure would otherwise wait for a reader forever.
            _input.Writer.CancelPendingFlush();
        }
    }

    /// <summary>Shuts the connection down and closes it, once; the first reason wins.</summary>
    private void Shutdown(Exception? reason)
    {
        lock (_shutdownLock)
        {
            if (_shutDown)
            {
                return;
            }

            _shutDown = true;
            _shutdownReason = reason ?? new IOException("The connection was closed after the application completed its output.");
            try
            {
                _connection.Shutdown(SocketShutdown.Send); // FIN first, as Kestrel does even on abort
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already reset or closed: closing is what is left to do.
            }

            _connection.Dispose();
        }
    }

    private void FireConnectionClosed()
    {
        if (Interlocked.Exchange(ref _closedFired, 1) != 0)
        {
            return;
        }

        // Token callbacks run user code: not on the loop's thread (a port worker when inline).
        ThreadPool.UnsafeQueueUserWorkItem(
            static self =>
            {
                try
                {
                    self._closed.Cancel();
                }
                catch (ObjectDisposedException)
                {
                    // Disposed in between: nobody is left to tell.
                }
            },
            this,
            preferLocal: false);
    }
}
