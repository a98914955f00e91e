using System.Net.Sockets;
using IocpHybrid.Interop;

namespace IocpHybrid;

public sealed partial class PortTcpConnection
{
    /// <summary>Whether Nagle's algorithm is off (TCP_NODELAY): small sends leave at once.</summary>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="SocketException">The OS refused.</exception>
    public bool NoDelay
    {
        get => GetOption(iocph_socket_option.IOCPH_SOCKOPT_NO_DELAY) != 0;
        set => SetOption(iocph_socket_option.IOCPH_SOCKOPT_NO_DELAY, value ? 1 : 0);
    }

    /// <summary>Whether TCP keep-alive probes are sent on an idle connection (SO_KEEPALIVE).</summary>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="SocketException">The OS refused.</exception>
    public bool KeepAlive
    {
        get => GetOption(iocph_socket_option.IOCPH_SOCKOPT_KEEP_ALIVE) != 0;
        set => SetOption(iocph_socket_option.IOCPH_SOCKOPT_KEEP_ALIVE, value ? 1 : 0);
    }

    /// <summary>The size of the OS send buffer in bytes (SO_SNDBUF; Linux reports twice what was set).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="SocketException">The OS refused.</exception>
    public int SendBufferSize
    {
        get => GetOption(iocph_socket_option.IOCPH_SOCKOPT_SEND_BUFFER);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            SetOption(iocph_socket_option.IOCPH_SOCKOPT_SEND_BUFFER, value);
        }
    }

    /// <summary>The size of the OS receive buffer in bytes (SO_RCVBUF; Linux reports twice what was set).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="SocketException">The OS refused.</exception>
    public int ReceiveBufferSize
    {
        get => GetOption(iocph_socket_option.IOCPH_SOCKOPT_RECEIVE_BUFFER);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            SetOption(iocph_socket_option.IOCPH_SOCKOPT_RECEIVE_BUFFER, value);
        }
    }

    /// <summary>
    /// What closing does with unsent data (SO_LINGER): off (the default) closes in the background;
    /// on with a time of 0 resets the connection; on with seconds waits up to that long.
    /// </summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The linger time is negative or above 65535.</exception>
    /// <exception cref="ObjectDisposedException">The connection or its port was disposed.</exception>
    /// <exception cref="SocketException">The OS refused.</exception>
    public LingerOption LingerState
    {
        get
        {
            int seconds = GetOption(iocph_socket_option.IOCPH_SOCKOPT_LINGER);
            return seconds < 0 ? new LingerOption(false, 0) : new LingerOption(true, seconds);
        }

        set
        {
            ArgumentNullException.ThrowIfNull(value);
            ArgumentOutOfRangeException.ThrowIfNegative(value.LingerTime, nameof(value));
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value.LingerTime, ushort.MaxValue, nameof(value));
            SetOption(iocph_socket_option.IOCPH_SOCKOPT_LINGER, value.Enabled ? value.LingerTime : -1);
        }
    }
}
