using System.Net;

namespace IocpHybrid;

/// <summary>
/// What <see cref="PortUdpSocket.ReceiveFromAsync(Memory{byte}, SocketAddress, CancellationToken)"/>
/// received; the sender was stored in the caller's <see cref="SocketAddress"/>.
/// </summary>
public readonly struct PortReceiveResult
{
    internal PortReceiveResult(int receivedBytes, bool truncated)
    {
        ReceivedBytes = receivedBytes;
        Truncated = truncated;
    }

    /// <summary>The number of bytes stored in the buffer.</summary>
    public int ReceivedBytes { get; }

    /// <summary>Whether the datagram was longer than the buffer (the rest was discarded).</summary>
    public bool Truncated { get; }
}
