using System.Net.Sockets;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>The socket codes and their <see cref="SocketError"/> values.</summary>
internal static partial class NativeErrors
{
    internal const int ConnectionRefused = (int)iocph_status.IOCPH_E_CONNECTION_REFUSED;
    internal const int ConnectionReset = (int)iocph_status.IOCPH_E_CONNECTION_RESET;
    internal const int ConnectionAborted = (int)iocph_status.IOCPH_E_CONNECTION_ABORTED;
    internal const int AddressInUse = (int)iocph_status.IOCPH_E_ADDRESS_IN_USE;
    internal const int AddressNotAvailable = (int)iocph_status.IOCPH_E_ADDRESS_NOT_AVAILABLE;
    internal const int HostUnreachable = (int)iocph_status.IOCPH_E_HOST_UNREACHABLE;
    internal const int NetworkUnreachable = (int)iocph_status.IOCPH_E_NETWORK_UNREACHABLE;
    internal const int MessageTooLarge = (int)iocph_status.IOCPH_E_MESSAGE_TOO_LARGE;
    internal const int NotConnected = (int)iocph_status.IOCPH_E_NOT_CONNECTED;

    /// <summary>
    /// The exception for a failed socket call or completion: a <see cref="SocketException"/> for every
    /// network condition (decided by the portable code only, never by the OS error, which goes into the
    /// message), the ordinary exceptions for argument, handle and shutdown errors.
    /// </summary>
    internal static Exception CreateSocketException(int status, int osError = 0)
    {
        SocketError error = status switch
        {
            ConnectionRefused => SocketError.ConnectionRefused,
            ConnectionReset => SocketError.ConnectionReset,
            ConnectionAborted => SocketError.ConnectionAborted,
            AddressInUse => SocketError.AddressAlreadyInUse,
            AddressNotAvailable => SocketError.AddressNotAvailable,
            HostUnreachable => SocketError.HostUnreachable,
            NetworkUnreachable => SocketError.NetworkUnreachable,
            MessageTooLarge => SocketError.MessageSize,
            NotConnected => SocketError.NotConnected,
            Timeout => SocketError.TimedOut,
            Canceled => SocketError.OperationAborted,
            BrokenPipe => SocketError.Shutdown, // a send after Shutdown(Send), or to a peer that closed
            AccessDenied => SocketError.AccessDenied,
            TooManyHandles => SocketError.TooManyOpenSockets,
            NoMemory => SocketError.NoBufferSpaceAvailable,
            Unsupported => SocketError.OperationNotSupported,
            Unknown or IoError => SocketError.SocketError,
            _ => SocketError.Success,
        };

        if (error == SocketError.Success)
        {
            // Argument, handle and port-shutdown errors keep their usual exceptions.
            return CreateException(status, osError);
        }

        return new SocketException((int)error, Describe(status, osError, null));
    }
}
