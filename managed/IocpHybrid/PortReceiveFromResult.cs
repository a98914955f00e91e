using System.Net;

namespace IocpHybrid;

/// <summary>What <see cref="PortUdpSocket.ReceiveFromAsync(Memory{byte}, CancellationToken)"/> received.</summary>
public readonly struct PortReceiveFromResult
{
    internal PortReceiveFromResult(int receivedBytes, IPEndPoint remoteEndPoint, bool truncated)
    {
        ReceivedBytes = receivedBytes;
        RemoteEndPoint = remoteEndPoint;
        Truncated = truncated;
    }

    /// <summary>The number of bytes stored in the buffer.</summary>
    public int ReceivedBytes { get; }

    /// <summary>The sender of the datagram.</summary>
    public IPEndPoint RemoteEndPoint { get; }

    /// <summary>Whether the datagram was longer than the buffer (the rest was discarded).</summary>
    public bool Truncated { get; }
}
