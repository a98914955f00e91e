using System.Net;
using System.Net.Sockets;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// A bound UDP socket created by <see cref="CompletionPort.BindUdp"/>. Several sends and receives may be
/// in flight at once; each carries one datagram. Disposing it closes it: operations in flight complete
/// with <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed unsafe class PortUdpSocket : PortSocket
{
    private readonly AddressFamily _family;
    private uint _sendTimeout;
    private uint _receiveTimeout;

    internal PortUdpSocket(CompletionPort port, ulong handle, ulong key, AddressFamily family)
        : base(port, handle, key)
    {
        _family = family;
    }

    /// <summary>The address family the socket was bound with.</summary>
    public AddressFamily AddressFamily => _family;

    /// <summary>How long each receive may wait, in milliseconds; 0 or -1 (the default) waits forever; then <see cref="SocketError.TimedOut"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than -1.</exception>
    public int ReceiveTimeout
    {
        get => (int)_receiveTimeout;
        set => _receiveTimeout = (uint)ValidateTimeout(value, nameof(value));
    }

    /// <summary>How long each send may take, in milliseconds; 0 or -1 (the default) waits forever; then <see cref="SocketError.TimedOut"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is less than -1.</exception>
    public int SendTimeout
    {
        get => (int)_sendTimeout;
        set => _sendTimeout = (uint)ValidateTimeout(value, nameof(value));
    }

    /// <summary>Sends one datagram to <paramref name="remoteEndPoint"/>.</summary>
    /// <param name="buffer">The datagram: 1 byte or more (an empty one is refused with <see cref="ArgumentException"/>).</param>
    /// <param name="remoteEndPoint">The receiver (an <see cref="IPEndPoint"/>).</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The number of bytes sent.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="remoteEndPoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="remoteEndPoint"/> is not an <see cref="IPEndPoint"/>.</exception>
    /// <exception cref="SocketException">The datagram is too large (<see cref="SocketError.MessageSize"/>) or another error.</exception>
    /// <exception cref="ObjectDisposedException">The socket or its port was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> buffer, EndPoint remoteEndPoint, CancellationToken cancellationToken = default)
    {
        IPEndPoint remote = SocketEndpoints.RequireIPEndPoint(remoteEndPoint, nameof(remoteEndPoint));
        iocph_endpoint target = SocketEndpoints.FromIPEndPoint(remote);
        return SendToCore(buffer, &target, cancellationToken);
    }

    /// <summary>Sends one datagram to the address in <paramref name="socketAddress"/>, without allocating.</summary>
    /// <param name="buffer">The datagram.</param>
    /// <param name="socketAddress">The receiver, an IPv4 or IPv6 <see cref="SocketAddress"/>.</param>
    /// <param name="cancellationToken">Cancels the send.</param>
    /// <returns>The number of bytes sent.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="socketAddress"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The address is neither IPv4 nor IPv6.</exception>
    /// <exception cref="SocketException">The datagram is too large or another error.</exception>
    /// <exception cref="ObjectDisposedException">The socket or its port was disposed.</exception>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> buffer, SocketAddress socketAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socketAddress);
        iocph_endpoint target = SocketEndpoints.FromSocketAddress(socketAddress);
        return SendToCore(buffer, &target, cancellationToken);
    }

    private ValueTask<int> SendToCore(ReadOnlyMemory<byte> buffer, iocph_endpoint* target, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        PortOperation? op = StartBufferOperation(OperationKind.UdpSendTo, buffer, target, _sendTimeout, cancellationToken, out Exception? error);
        return op is null ? ValueTask.FromException<int>(error!) : new ValueTask<int>(op, op.Version);
    }

    /// <summary>Receives one datagram and tells who sent it and whether it was cut short.</summary>
    /// <param name="buffer">Receives the datagram; a longer datagram is truncated.</param>
    /// <param name="cancellationToken">Cancels the receive; the task then ends with an <see cref="OperationCanceledException"/> carrying this token.</param>
    /// <returns>The bytes received, the sender and the truncation flag.</returns>
    /// <exception cref="ArgumentException"><paramref name="buffer"/> is empty.</exception>
    /// <exception cref="SocketException">The receive failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The socket or its port was disposed (also while the receive waited).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the exception carries it).</exception>
    public ValueTask<PortReceiveFromResult> ReceiveFromAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        PortOperation? op = StartReceive(buffer, null, cancellationToken, out Exception? error);
        return op is null ? ValueTask.FromException<PortReceiveFromResult>(error!) : new ValueTask<PortReceiveFromResult>(op, op.Version);
    }

    /// <summary>
    /// Receives one datagram and stores its sender in <paramref name="receivedAddress"/>, which the
    /// caller reuses: nothing is allocated in steady state. An IPv4 sender is stored IPv4-mapped when
    /// <paramref name="receivedAddress"/> is an IPv6 address.
    /// </summary>
    /// <param name="buffer">Receives the datagram; a longer datagram is truncated.</param>
    /// <param name="receivedAddress">Receives the sender: a <see cref="SocketAddress"/> of family InterNetwork or InterNetworkV6, large enough for it.</param>
    /// <param name="cancellationToken">Cancels the receive.</param>
    /// <returns>The bytes received and the truncation flag.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="receivedAddress"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="buffer"/> is empty, or the address is of another family or too small.</exception>
    /// <exception cref="SocketException">The receive failed or timed out.</exception>
    /// <exception cref="ObjectDisposedException">The socket or its port was disposed.</exception>
    public ValueTask<PortReceiveResult> ReceiveFromAsync(Memory<byte> buffer, SocketAddress receivedAddress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receivedAddress);
        int needed = receivedAddress.Family switch
        {
            AddressFamily.InterNetwork => 16,
            AddressFamily.InterNetworkV6 => 28,
            _ => throw new ArgumentException("The address must be of family InterNetwork or InterNetworkV6.", nameof(receivedAddress)),
        };
        if (receivedAddress.Buffer.Length < needed || (receivedAddress.Family == AddressFamily.InterNetwork && _family == AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("The address is too small for this socket's senders (use new SocketAddress(socket.AddressFamily)).", nameof(receivedAddress));
        }

        PortOperation? op = StartReceive(buffer, receivedAddress, cancellationToken, out Exception? error);
        return op is null ? ValueTask.FromException<PortReceiveResult>(error!) : new ValueTask<PortReceiveResult>(op, op.Version);
    }

    private PortOperation? StartReceive(Memory<byte> buffer, SocketAddress? receivedAddress, CancellationToken cancellationToken, out Exception? error)
    {
        if (buffer.IsEmpty)
        {
            throw new ArgumentException("The buffer is empty.", nameof(buffer));
        }

        ThrowIfDisposed();
        if (cancellationToken.IsCancellationRequested)
        {
            error = new OperationCanceledException(cancellationToken);
            return null;
        }

        if (buffer.Length > PortFile.MaxIoLength)
        {
            buffer = buffer[..PortFile.MaxIoLength];
        }

        return StartBufferOperation(OperationKind.UdpReceiveFrom, buffer, null, _receiveTimeout, cancellationToken, out error, _family, receivedAddress);
    }
}
