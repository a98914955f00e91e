using System.Net;
using System.Net.Sockets;
using IocpHybrid.Interop;

namespace IocpHybrid;

public sealed unsafe partial class CompletionPort
{
    /// <summary>
    /// Creates a TCP listener bound to <paramref name="localEndPoint"/> (port 0: the system picks one;
    /// <see cref="PortSocket.LocalEndPoint"/> tells which).
    /// </summary>
    /// <param name="localEndPoint">The IPv4 or IPv6 address and port to listen on.</param>
    /// <param name="backlog">The length of the queue of pending connections; 0 or less: the system maximum.</param>
    /// <param name="reuseAddress">Sets SO_REUSEADDR before binding.</param>
    /// <param name="dualMode">For an IPv6 endpoint, also accept IPv4 connections (IPV6_V6ONLY off).</param>
    /// <returns>The listener; dispose it to stop listening.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="localEndPoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The endpoint is neither IPv4 nor IPv6.</exception>
    /// <exception cref="SocketException">The address is in use (<see cref="SocketError.AddressAlreadyInUse"/>), not local (<see cref="SocketError.AddressNotAvailable"/>), or another OS error.</exception>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    public PortTcpListener ListenTcp(IPEndPoint localEndPoint, int backlog = 0, bool reuseAddress = false, bool dualMode = false)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        iocph_endpoint local = SocketEndpoints.FromIPEndPoint(localEndPoint);
        ThrowIfDisposed();
        ulong key = NextKey();
        ulong handle;
        int rc = NativeMethods.iocph_tcp_listen(_port, &local, backlog, SocketFlags(reuseAddress, dualMode), key, &handle);
        if (rc != NativeErrors.Ok)
        {
            throw SocketStartException(rc);
        }

        return new PortTcpListener(this, handle, key);
    }

    /// <summary>Creates a UDP socket bound to <paramref name="localEndPoint"/> (port 0: any).</summary>
    /// <param name="localEndPoint">The IPv4 or IPv6 address and port to bind.</param>
    /// <param name="reuseAddress">Sets SO_REUSEADDR before binding.</param>
    /// <param name="dualMode">For an IPv6 endpoint, also take IPv4 datagrams (IPV6_V6ONLY off).</param>
    /// <returns>The socket; dispose it to close it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="localEndPoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The endpoint is neither IPv4 nor IPv6.</exception>
    /// <exception cref="SocketException">The address is in use, not local, or another OS error.</exception>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    public PortUdpSocket BindUdp(IPEndPoint localEndPoint, bool reuseAddress = false, bool dualMode = false)
    {
        ArgumentNullException.ThrowIfNull(localEndPoint);
        iocph_endpoint local = SocketEndpoints.FromIPEndPoint(localEndPoint);
        ThrowIfDisposed();
        ulong key = NextKey();
        ulong handle;
        int rc = NativeMethods.iocph_udp_bind(_port, &local, SocketFlags(reuseAddress, dualMode), key, &handle);
        if (rc != NativeErrors.Ok)
        {
            throw SocketStartException(rc);
        }

        return new PortUdpSocket(this, handle, key, localEndPoint.AddressFamily);
    }

    /// <summary>
    /// Connects a new TCP socket to <paramref name="remoteEndPoint"/>; the same as
    /// <see cref="PortTcpConnection.ConnectAsync(CompletionPort, EndPoint, CancellationToken)"/>.
    /// </summary>
    /// <param name="remoteEndPoint">An <see cref="IPEndPoint"/>, or a <see cref="DnsEndPoint"/> whose addresses are tried in turn.</param>
    /// <param name="cancellationToken">Cancels the connect.</param>
    /// <returns>The connected connection.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="remoteEndPoint"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The endpoint is neither an IP nor a DNS endpoint, or its port is 0.</exception>
    /// <exception cref="SocketException">The connect failed (for instance <see cref="SocketError.ConnectionRefused"/>).</exception>
    /// <exception cref="ObjectDisposedException">The port was disposed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ValueTask<PortTcpConnection> ConnectTcpAsync(EndPoint remoteEndPoint, CancellationToken cancellationToken = default) =>
        PortTcpConnection.ConnectAsync(this, remoteEndPoint, cancellationToken);

    private static uint SocketFlags(bool reuseAddress, bool dualMode) =>
        (reuseAddress ? (uint)iocph_socket_flags.IOCPH_SOCKET_REUSE_ADDRESS : 0u) |
        (dualMode ? (uint)iocph_socket_flags.IOCPH_SOCKET_DUAL_MODE : 0u);

    internal Exception SocketStartException(int rc) =>
        rc == NativeErrors.BadHandle || rc == NativeErrors.Shutdown
            ? new ObjectDisposedException(GetType().FullName)
            : NativeErrors.CreateSocketException(rc);
}
