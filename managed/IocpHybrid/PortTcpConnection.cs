using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// A connected TCP socket associated with a <see cref="CompletionPort"/>: made by
/// <see cref="ConnectAsync(CompletionPort, EndPoint, CancellationToken)"/> or accepted by a
/// <see cref="PortTcpListener"/>. Any number of sends may be in flight at once, started from any
/// threads: as with System.Net.Sockets, each goes out whole, in the order the calls were made. One
/// receive may be in flight at a time (more would split the incoming bytes between them in no useful
/// order). Disposing it closes it: operations in flight complete with <see cref="ObjectDisposedException"/>.
/// </summary>
/// <remarks>
/// Errors are <see cref="SocketException"/>s with the usual <see cref="SocketError"/> (for instance
/// <see cref="SocketError.ConnectionReset"/>, <see cref="SocketError.TimedOut"/> after
/// <see cref="ReceiveTimeout"/> or <see cref="SendTimeout"/>, <see cref="SocketError.Shutdown"/> for a
/// send after <see cref="Shutdown"/>). A timed-out send may have sent part of its bytes: treat the
/// connection as broken.
/// </remarks>
public sealed partial class PortTcpConnection : PortSocket
{
    private uint _sendTimeout;
    private uint _receiveTimeout;

    internal PortTcpConnection(CompletionPort port, ulong handle, ulong key)
        : base(port, handle, key)
    {
        PortMetrics.ConnectionOpened();
    }

    private protected override void OnClosed() => PortMetrics.ConnectionClosed();

    /// <summary>
    /// How long each receive may wait, in milliseconds; 0 or -1 (the default) waits forever. A receive
    /// that outlives it fails with <see cref="SocketError.TimedOut"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than -1.</exception>
    public int ReceiveTimeout
    {
        get => (int)_receiveTimeout;
        set => _receiveTimeout = (uint)ValidateTimeout(value, nameof(value));
    }

    /// <summary>
    /// How long each send may take, in milliseconds; 0 or -1 (the default) waits forever. A send that
    /// outlives it fails with <see cref="SocketError.TimedOut"/>, and the connection should be closed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than -1.</exception>
    public int SendTimeout
    {
        get => (int)_sendTimeout;
        set => _sendTimeout = (uint)ValidateTimeout(value, nameof(value));
    }

    /// <summary>The peer's endpoint.</summary>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="SocketException">Not connected (<see cref="SocketError.NotConnected"/>).</exception>
    public IPEndPoint RemoteEndPoint => GetEndPoint(iocph_endpoint_kind.IOCPH_ENDPOINT_REMOTE);

    /// <summary>Connects a new TCP socket, associated with <paramref name="port"/>, to <paramref name="remoteEndPoint"/>.</summary>
    /// <param name="port">The port the connection belongs to.</param>
    /// <param name="remoteEndPoint">An <see cref="IPEndPoint"/>, or a <see cref="DnsEndPoint"/> whose addresses are tried in turn.</param>
    /// <param name="cancellationToken">Cancels the connect; the task then ends with an <see cref="OperationCanceledException"/> carrying this token.</param>
    /// <returns>The connected connection; dispose it to close it.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The endpoint is neither an IP nor a DNS endpoint.</exception>
    /// <exception cref="SocketException">The connect failed (<see cref="SocketError.ConnectionRefused"/>, <see cref="SocketError.HostUnreachable"/>, ...).</exception>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public static ValueTask<PortTcpConnection> ConnectAsync(CompletionPort port, EndPoint remoteEndPoint, CancellationToken cancellationToken = default) =>
        ConnectAsync(port, remoteEndPoint, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Connects as <see cref="ConnectAsync(CompletionPort, EndPoint, CancellationToken)"/> does, giving up after <paramref name="timeout"/>.</summary>
    /// <param name="port">The port the connection belongs to.</param>
    /// <param name="remoteEndPoint">An <see cref="IPEndPoint"/>, or a <see cref="DnsEndPoint"/> whose addresses are tried in turn.</param>
    /// <param name="timeout">The longest each connect attempt may take (<see cref="Timeout.InfiniteTimeSpan"/>: no limit); it then fails with <see cref="SocketError.TimedOut"/>.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected connection.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite) or too large.</exception>
    /// <exception cref="ArgumentException">The endpoint is neither an IP nor a DNS endpoint.</exception>
    /// <exception cref="SocketException">The connect failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    public static ValueTask<PortTcpConnection> ConnectAsync(CompletionPort port, EndPoint remoteEndPoint, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(port);
        ArgumentNullException.ThrowIfNull(remoteEndPoint);
        uint timeoutMs = timeout == Timeout.InfiniteTimeSpan ? 0u : (uint)ValidateTimeout(TimeoutMilliseconds(timeout), nameof(timeout));
        return remoteEndPoint switch
        {
            IPEndPoint ip => ConnectOneAsync(port, ip, timeoutMs, cancellationToken),
            DnsEndPoint dns => ConnectDnsAsync(port, dns, timeoutMs, cancellationToken),
            _ => throw new ArgumentException($"An IPEndPoint or DnsEndPoint is needed, not {remoteEndPoint.GetType().Name}.", nameof(remoteEndPoint)),
        };
    }

    /// <summary>A timeout in whole milliseconds, rounded up; beyond int.MaxValue it is out of range (an
    /// <see cref="ArgumentOutOfRangeException"/> from the validation, not an overflow).</summary>
    private static int TimeoutMilliseconds(TimeSpan timeout)
    {
        double ms = Math.Ceiling(timeout.TotalMilliseconds);
        if (ms > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout is longer than int.MaxValue milliseconds.");
        }

        return ms < -1 ? -2 : (int)ms;
    }

    private static async ValueTask<PortTcpConnection> ConnectDnsAsync(CompletionPort port, DnsEndPoint remote, uint timeoutMs, CancellationToken cancellationToken)
    {
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(remote.Host, remote.AddressFamily, cancellationToken).ConfigureAwait(false);
        Exception? last = null;
        foreach (IPAddress address in addresses)
        {
            try
            {
                return await ConnectOneAsync(port, new IPEndPoint(address, remote.Port), timeoutMs, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                last = ex;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    private static async ValueTask<PortTcpConnection> ConnectOneAsync(CompletionPort port, IPEndPoint remote, uint timeoutMs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ValueTask connect = StartConnect(port, remote, timeoutMs, cancellationToken, out PortTcpConnection connection);
        try
        {
            await connect.ConfigureAwait(false);
            return connection;
        }
        catch
        {
            // The socket is ours also when the connect failed.
            connection.Dispose();
            throw;
        }
    }

    private static unsafe ValueTask StartConnect(CompletionPort port, IPEndPoint remote, uint timeoutMs, CancellationToken cancellationToken, out PortTcpConnection connection)
    {
        iocph_endpoint target = SocketEndpoints.FromIPEndPoint(remote);
        port.ThrowIfDisposed();
        ulong key = port.NextKey();
        PortOperation op = port.RentOperation();
        ulong userData = op.Prepare(OperationKind.TcpConnect, null, key, default, cancellationToken);
        short version = op.Version;
        ulong socket = 0;
        ulong nativeOp = 0;
        int rc = NativeMethods.iocph_tcp_connect(port.NativePort, &target, null, key, timeoutMs, userData, &socket, &nativeOp);
        if (rc != NativeErrors.Ok)
        {
            op.Abandon();
            if (socket != 0)
            {
                _ = NativeMethods.iocph_handle_close(socket);
            }

            throw port.SocketStartException(rc);
        }

        connection = new PortTcpConnection(port, socket, key);
        op.Started(nativeOp, connection);
        return new ValueTask(op, version);
    }

    /// <summary>
    /// Sends every byte of <paramref name="buffer"/>; completes when all of them are handed to the OS.
    /// </summary>
    /// <param name="buffer">The data; it must not change until the task completes.</param>
    /// <param name="cancellationToken">Cancels the send (the connection is then in an unknown state).</param>
    /// <returns><c>buffer.Length</c>.</returns>
    /// <exception cref="SocketException">The send failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public unsafe ValueTask<int> SendAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
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

        // Everything this call starts is started in one go, with no other send starting in between
        // (PortTcpConnection.SendOrder.cs): that keeps concurrent sends whole and in call order.
        EnterSendStart();
        try
        {
            if (buffer.Length > PortFile.MaxIoLength)
            {
                // int.MaxValue is less than two chunks: both start now, one after the other.
                StartedSends chunks = default;
                chunks.Add(StartSend(buffer[..PortFile.MaxIoLength], cancellationToken));
                chunks.Add(StartSend(buffer[PortFile.MaxIoLength..], cancellationToken));
                return chunks.AwaitAll();
            }

            // The immediate attempt only when no asynchronous send is in flight: its bytes would overtake those.
            if (!SendInFlight)
            {
                int rc = TrySendNow(buffer.Span, out int sent);
                if (rc == NativeErrors.Ok)
                {
                    if (sent == buffer.Length)
                    {
                        PortMetrics.OperationCompletedAtOnce(OperationKind.SocketSend);
                        return new ValueTask<int>(sent);
                    }

                    return AddSentAsync(StartSend(buffer[sent..], cancellationToken), sent);
                }

                if (rc != NativeErrors.WouldBlock)
                {
                    return ValueTask.FromException<int>(CreateStartException(rc));
                }
            }

            return StartSend(buffer, cancellationToken);
        }
        finally
        {
            ExitSendStart();
        }
    }

    /// <summary>
    /// The asynchronous send through the port (the socket buffer is full, another send is in flight, or
    /// the backend declined to try). Called while this thread is starting a send (<see cref="EnterSendStart"/>).
    /// </summary>
    private unsafe ValueTask<int> StartSend(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        PortOperation? op = StartBufferOperation(OperationKind.SocketSend, buffer, null, _sendTimeout, cancellationToken, out Exception? error);
        return op is null ? ValueTask.FromException<int>(error!) : new ValueTask<int>(op, op.Version);
    }

    /// <summary>Sends every byte of an array (see <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>).</summary>
    /// <param name="buffer">The data.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The length of <paramref name="buffer"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="SocketException">The send failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    public Task<int> SendAsync(byte[] buffer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return SendAsync(new ReadOnlyMemory<byte>(buffer), cancellationToken).AsTask();
    }

    /// <summary>Sends a range of an array (see <see cref="SendAsync(ReadOnlyMemory{byte}, CancellationToken)"/>).</summary>
    /// <param name="buffer">The data.</param>
    /// <param name="offset">Where the bytes start.</param>
    /// <param name="count">How many bytes to send.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns><paramref name="count"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the array.</exception>
    /// <exception cref="SocketException">The send failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    public Task<int> SendAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken = default)
    {
        PortFile.ValidateArray(buffer, offset, count);
        return SendAsync(new ReadOnlyMemory<byte>(buffer, offset, count), cancellationToken).AsTask();
    }

    /// <summary>
    /// Receives whatever has arrived, 1 to <c>buffer.Length</c> bytes, waiting until something does.
    /// An empty buffer waits for data without taking any, as a zero-byte <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> does.
    /// </summary>
    /// <remarks>
    /// The empty-buffer form is how a server keeps an idle connection without a buffer: it completes with 0
    /// once bytes are there to receive (they stay for the next receive) or the peer closed its side, and
    /// throws what a receive would (a reset, a timeout, a cancellation); no memory is pinned while it waits.
    /// Rent a buffer when it completes, then receive into it.
    /// </remarks>
    /// <param name="buffer">Receives the data; empty to wait for data. Lengths above <see cref="PortFile.MaxIoLength"/> receive at most that many bytes.</param>
    /// <param name="cancellationToken">Cancels the receive; the task then ends with an <see cref="OperationCanceledException"/> carrying this token, unless data came first.</param>
    /// <returns>The number of bytes received; 0 when the peer closed its side in order, or, for an empty buffer, when data (or the end) is there to receive.</returns>
    /// <exception cref="SocketException">The receive failed (<see cref="SocketError.ConnectionReset"/>, ...) or timed out (<see cref="ReceiveTimeout"/>).</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed (also while the receive waited).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public unsafe ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        if (buffer.Length > PortFile.MaxIoLength)
        {
            buffer = buffer[..PortFile.MaxIoLength];
        }

        // A wait for data always goes to the port: an immediate attempt can't tell "nothing yet"
        // from "nothing ever" without taking a byte. After it completes, _receiveMayHaveMore is set
        // (0 of 0 requested), so the receive that follows takes the data with an immediate attempt.
        if (_receiveMayHaveMore && !buffer.IsEmpty)
        {
            int rc = TryReceiveNow(buffer.Span, out int received);
            if (rc == NativeErrors.Ok)
            {
                PortMetrics.OperationCompletedAtOnce(OperationKind.SocketReceive);
                return new ValueTask<int>(received);
            }

            if (rc != NativeErrors.WouldBlock)
            {
                return ValueTask.FromException<int>(CreateStartException(rc));
            }
        }

        PortOperation? op = StartBufferOperation(OperationKind.SocketReceive, buffer, null, _receiveTimeout, cancellationToken, out Exception? error);
        return op is null ? ValueTask.FromException<int>(error!) : new ValueTask<int>(op, op.Version);
    }

    /// <summary>Receives into an array (see <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>).</summary>
    /// <param name="buffer">Receives the data.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The number of bytes received; 0 when the peer closed its side.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="SocketException">The receive failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    public Task<int> ReceiveAsync(byte[] buffer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return ReceiveAsync(new Memory<byte>(buffer), cancellationToken).AsTask();
    }

    /// <summary>Receives into a range of an array (see <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/>).</summary>
    /// <param name="buffer">Receives the data.</param>
    /// <param name="offset">Where in <paramref name="buffer"/> the data goes.</param>
    /// <param name="count">The most bytes to receive.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The number of bytes received; 0 when the peer closed its side.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="buffer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the array.</exception>
    /// <exception cref="SocketException">The receive failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    public Task<int> ReceiveAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken = default)
    {
        PortFile.ValidateArray(buffer, offset, count);
        return ReceiveAsync(new Memory<byte>(buffer, offset, count), cancellationToken).AsTask();
    }

    /// <summary>
    /// Half-closes the connection: after <see cref="SocketShutdown.Send"/> the peer's receives return 0
    /// and sends here fail with <see cref="SocketError.Shutdown"/>; receiving still works.
    /// </summary>
    /// <param name="how">Only <see cref="SocketShutdown.Send"/> is supported.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="how"/> is not <see cref="SocketShutdown.Send"/>.</exception>
    /// <exception cref="SocketException">The OS refused (for instance <see cref="SocketError.NotConnected"/>).</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    public void Shutdown(SocketShutdown how)
    {
        if (how != SocketShutdown.Send)
        {
            throw new ArgumentOutOfRangeException(nameof(how), how, "Only SocketShutdown.Send is supported (dispose the connection to close both sides).");
        }

        ThrowIfDisposed();
        int rc = NativeMethods.iocph_socket_shutdown_send(NativeHandle);
        if (rc != NativeErrors.Ok)
        {
            throw CreateStartException(rc);
        }
    }

    /// <summary>
    /// A <see cref="Stream"/> over this connection (for <c>SslStream</c>, <see cref="StreamReader"/>,
    /// <see cref="Stream.CopyToAsync(Stream)"/>, ...). Disposing the stream disposes the connection, as
    /// <see cref="TcpClient.GetStream"/>'s stream does.
    /// </summary>
    /// <returns>A new stream that owns the connection.</returns>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    public PortNetworkStream GetStream()
    {
        ThrowIfDisposed();
        return new PortNetworkStream(this, ownsConnection: true);
    }
}
