using System.Net;
using System.Net.Sockets;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// A TCP or UDP socket associated with a <see cref="CompletionPort"/>: what listeners, connections and
/// UDP sockets share (endpoints, options, starting operations). Disposing it closes it: operations in
/// flight complete with <see cref="ObjectDisposedException"/>.
/// </summary>
public abstract unsafe class PortSocket : PortHandle
{
    private protected PortSocket(CompletionPort port, ulong handle, ulong key)
        : base(port, handle, key)
    {
    }

    /// <summary>The local endpoint the socket is bound to.</summary>
    /// <exception cref="ObjectDisposedException">The socket or its port was disposed.</exception>
    /// <exception cref="SocketException">The OS could not tell.</exception>
    public IPEndPoint LocalEndPoint => GetEndPoint(iocph_endpoint_kind.IOCPH_ENDPOINT_LOCAL);

    /// <summary>The endpoint of the native socket (local or remote).</summary>
    private protected IPEndPoint GetEndPoint(iocph_endpoint_kind which)
    {
        ThrowIfDisposed();
        iocph_endpoint endpoint;
        int rc = NativeMethods.iocph_socket_get_endpoint(NativeHandle, (int)which, &endpoint);
        if (rc != NativeErrors.Ok)
        {
            throw CreateStartException(rc);
        }

        return SocketEndpoints.ToIPEndPoint(in endpoint);
    }

    /// <summary>Reads a socket option.</summary>
    private protected int GetOption(iocph_socket_option option)
    {
        ThrowIfDisposed();
        int value;
        int rc = NativeMethods.iocph_socket_get_option(NativeHandle, (int)option, &value);
        if (rc != NativeErrors.Ok)
        {
            throw CreateStartException(rc);
        }

        return value;
    }

    /// <summary>Sets a socket option.</summary>
    private protected void SetOption(iocph_socket_option option, int value)
    {
        ThrowIfDisposed();
        int rc = NativeMethods.iocph_socket_set_option(NativeHandle, (int)option, value);
        if (rc != NativeErrors.Ok)
        {
            throw CreateStartException(rc);
        }
    }

    /// <summary>A timeout property's value (milliseconds; 0 or -1 = none) as the native timeout_ms.</summary>
    private protected static int ValidateTimeout(int value, string paramName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, -1, paramName);
        return value == -1 ? 0 : value;
    }

    /// <summary>
    /// Starts one single-buffer socket operation (send, receive, send-to, receive-from) and returns its
    /// pooled operation, started, or <see langword="null"/> with <paramref name="error"/> set.
    /// The caller checked the token, the buffer length (1..<see cref="PortFile.MaxIoLength"/>; 0 for a TCP wait for data) and disposal.
    /// </summary>
    private protected PortOperation? StartBufferOperation(
        OperationKind kind,
        ReadOnlyMemory<byte> buffer,
        iocph_endpoint* sendTo,
        uint timeoutMs,
        CancellationToken cancellationToken,
        out Exception? error,
        AddressFamily receiveFamily = AddressFamily.Unspecified,
        SocketAddress? receivedAddress = null)
    {
        System.Buffers.MemoryHandle pin = buffer.Pin();
        PortOperation op = Port.RentOperation();
        void* pointer = pin.Pointer;
        ulong handle = NativeHandle;
        ulong userData = op.Prepare(kind, this, Key, pin, cancellationToken);
        uint length = (uint)buffer.Length;
        ulong nativeOp = 0;
        int rc;
        switch (kind)
        {
            case OperationKind.SocketSend:
                rc = NativeMethods.iocph_socket_send(handle, pointer, length, timeoutMs, userData, &nativeOp);
                break;
            case OperationKind.SocketReceive:
                op.SetRequestedLength(buffer.Length);
                rc = NativeMethods.iocph_socket_receive(handle, pointer, length, timeoutMs, userData, &nativeOp);
                break;
            case OperationKind.UdpSendTo:
                rc = NativeMethods.iocph_udp_send_to(handle, pointer, length, sendTo, timeoutMs, userData, &nativeOp);
                break;
            case OperationKind.UdpReceiveFrom:
                op.SetReceiveTarget(receiveFamily, receivedAddress);
                rc = NativeMethods.iocph_udp_receive_from(handle, pointer, length, (iocph_endpoint*)op.Scratch, timeoutMs, userData, &nativeOp);
                break;
            default:
                rc = NativeErrors.InvalidArgument;
                break;
        }

        if (rc != NativeErrors.Ok)
        {
            op.Abandon();
            error = CreateStartException(rc);
            return null;
        }

        op.Started(nativeOp);
        error = null;
        return op;
    }
}
