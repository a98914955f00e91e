using System.Net;
using System.Net.Sockets;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// A listening TCP socket created by <see cref="CompletionPort.ListenTcp"/>. Several
/// <see cref="AcceptAsync"/> calls may be outstanding at once. Disposing the listener ends the pending
/// accepts with <see cref="ObjectDisposedException"/> (or <see cref="OperationCanceledException"/> for an
/// accept whose own token was cancelled too); connections already accepted stay open.
/// </summary>
public sealed unsafe class PortTcpListener : PortSocket
{
    private uint _acceptTimeout;

    internal PortTcpListener(CompletionPort port, ulong handle, ulong key)
        : base(port, handle, key)
    {
    }

    /// <summary>
    /// How long each accept may wait, in milliseconds; 0 or -1 (the default) waits forever. An accept
    /// that outlives it fails with a <see cref="SocketException"/> whose error is <see cref="SocketError.TimedOut"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than -1.</exception>
    public int AcceptTimeout
    {
        get => (int)_acceptTimeout;
        set => _acceptTimeout = (uint)ValidateTimeout(value, nameof(value));
    }

    /// <summary>
    /// Accepts one connection. The new connection is associated with the same port.
    /// </summary>
    /// <remarks>
    /// The accepted socket is owned by its <see cref="PortTcpConnection"/> from the moment the accept
    /// completes: a task that is never awaited (the loser of a <c>WhenAny</c>) does not keep the socket
    /// open until the port is disposed; the connection is closed when the garbage collector reclaims it,
    /// as any connection nobody disposed. Dispose what you accept.
    /// </remarks>
    /// <param name="cancellationToken">Cancels the native accept; the task then ends with an
    /// <see cref="OperationCanceledException"/> carrying this token, unless a connection came first: an
    /// accept that completed (also one that raced with the cancellation) returns its connection, since
    /// throwing would lose the socket.</param>
    /// <returns>The accepted connection; dispose it to close it.</returns>
    /// <exception cref="ObjectDisposedException">The listener or its port was disposed (also while the accept waited).</exception>
    /// <exception cref="SocketException">The accept failed or timed out (<see cref="AcceptTimeout"/>).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask<PortTcpConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<PortTcpConnection>(cancellationToken);
        }

        CompletionPort port = Port;
        ulong acceptKey = port.NextKey();
        PortTcpConnection? waiting = TryAcceptNow(acceptKey);
        if (waiting is not null)
        {
            return new ValueTask<PortTcpConnection>(waiting);
        }

        PortOperation op = port.RentOperation();
        ulong userData = op.Prepare(OperationKind.TcpAccept, this, Key, default, cancellationToken);
        op.SetAcceptKey(acceptKey);
        short version = op.Version;
        ulong nativeOp = 0;
        int rc = NativeMethods.iocph_tcp_accept(NativeHandle, acceptKey, (iocph_accept_result*)op.Scratch, _acceptTimeout, userData, &nativeOp);
        if (rc != NativeErrors.Ok)
        {
            op.Abandon();
            return ValueTask.FromException<PortTcpConnection>(CreateStartException(rc));
        }

        op.Started(nativeOp);
        return new ValueTask<PortTcpConnection>(op, version);
    }

    // A connection already waiting in the backlog is taken at once (iocph_tcp_try_accept), so an
    // accept loop takes a burst of connections in one go, as System.Net.Sockets does on Unix,
    // instead of one per trip through the port: a server whose accept loop runs inline on a busy
    // worker would otherwise accept one connection per worker loop. Anything but a connection
    // (nothing waiting, IOCP declining, an error) leaves it to the asynchronous accept, which reports
    // errors with its usual exceptions.
    private PortTcpConnection? TryAcceptNow(ulong acceptKey)
    {
        iocph_accept_result result;
        if (NativeMethods.iocph_tcp_try_accept(NativeHandle, acceptKey, &result) != NativeErrors.Ok)
        {
            return null;
        }

        PortMetrics.OperationCompletedAtOnce(OperationKind.TcpAccept);
        return new PortTcpConnection(Port, result.socket, acceptKey);
    }
}
