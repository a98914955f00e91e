using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>
/// The socket half of <see cref="PortOperation"/>: native memory that must outlive the start call (the
/// accept result, the sender of a datagram), the extra pins of a gather send, and the typed results
/// (an accepted connection, a datagram's sender and truncation).
/// </summary>
internal sealed unsafe partial class PortOperation : IValueTaskSource<PortTcpConnection>, IValueTaskSource<PortReceiveFromResult>, IValueTaskSource<PortReceiveResult>
{
    // Pinned on the POH, allocated on first socket use and kept with the pooled object: it holds an
    // iocph_accept_result (the largest thing the native side writes back into caller memory).
    private byte[]? _scratch;

    // Pins of the buffers of a gather send beyond the first (IOCPH_MAX_BUFFERS at most).
    private MemoryHandle[]? _extraPins;
    private int _extraPinCount;

    // Accept: the key the accepted socket is associated under. Receive-from: where to store the sender.
    private ulong _acceptKey;

    // Accept: the connection, made when the completion arrives rather than when the result is read, so
    // the socket is owned (closed by the connection's finalizer) also when nobody ever reads the result.
    private PortTcpConnection? _accepted;
    private int _requestedLength;
    private SocketAddress? _receivedAddress;
    private AddressFamily _receiveFamily;

    /// <summary>Pinned memory of at least <c>sizeof(iocph_accept_result)</c> bytes, valid while the object lives.</summary>
    internal void* Scratch
    {
        get
        {
            _scratch ??= GC.AllocateArray<byte>(sizeof(iocph_accept_result), pinned: true);
            return Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_scratch));
        }
    }

    /// <summary>Keeps one more buffer pinned until the completion (gather sends).</summary>
    internal void AddPin(MemoryHandle pin)
    {
        _extraPins ??= new MemoryHandle[(int)NativeMethods.IOCPH_MAX_BUFFERS];
        _extraPins[_extraPinCount++] = pin;
    }

    /// <summary>Accept: the key of the socket the native side creates.</summary>
    internal void SetAcceptKey(ulong key) => _acceptKey = key;

    /// <summary>A receive's buffer length (whether it came back full tells the next receive whether to try first).</summary>
    internal void SetRequestedLength(int length) => _requestedLength = length;

    /// <summary>Receive-from: the family the caller expects and, for the allocation-free form, where the sender goes.</summary>
    internal void SetReceiveTarget(AddressFamily family, SocketAddress? address)
    {
        _receiveFamily = family;
        _receivedAddress = address;
    }

    /// <summary>
    /// The native start of a connect succeeded: the handle it created is known only now.
    /// Records it (for cancellation and for disposal errors), then completes the starter's half.
    /// </summary>
    internal void Started(ulong nativeOperation, ulong nativeHandle, PortHandle owner)
    {
        _nativeHandle = nativeHandle;
        _owner = owner;
        Started(nativeOperation);
    }

    private void ReleaseExtraPins()
    {
        for (int i = 0; i < _extraPinCount; i++)
        {
            _extraPins![i].Dispose();
            _extraPins[i] = default;
        }

        _extraPinCount = 0;
    }

    /// <summary>Counts a TCP send on its connection while it is in flight (see PortTcpConnection.SendOrder.cs).</summary>
    private void TrackSend(int delta)
    {
        if (_kind == OperationKind.SocketSend && _owner is PortTcpConnection connection)
        {
            connection.AddSendsInFlight(delta);
        }
    }

    private void ResetSocketState()
    {
        _acceptKey = 0;
        _accepted = null;
        _receivedAddress = null;
    }

    /// <summary>
    /// Runs when an accept's completion is published, before anyone can read it. Its task may have been
    /// dropped (never awaited: the loser of a WhenAny), so from here on only that task keeps this object
    /// alive, not the port's registry: if the task is gone, the garbage collector reclaims both, and the
    /// connection's finalizer closes the socket instead of leaving it open until the port dies. Reading
    /// the result puts the object back (<see cref="Release"/>).
    /// </summary>
    private void OnAcceptCompleted()
    {
        if (_result >= 0)
        {
            iocph_accept_result accepted = *(iocph_accept_result*)Scratch;
            _accepted = new PortTcpConnection(_port, accepted.socket, _acceptKey);
        }

        _port.Unroot(this);
    }

    /// <summary>Runs on success before the result is published: copies what lives in native memory out.</summary>
    private void OnSuccess()
    {
        if (_kind == OperationKind.SocketReceive && _owner is PortTcpConnection connection)
        {
            connection.NoteReceived(_result, _requestedLength);
        }

        if (_kind == OperationKind.UdpReceiveFrom && _receivedAddress is not null)
        {
            SocketEndpoints.Write(in *(iocph_endpoint*)Scratch, _receivedAddress);
        }
    }

    private bool Truncated => (_flags & (uint)iocph_completion_flags.IOCPH_COMPLETION_TRUNCATED) != 0;

    PortTcpConnection IValueTaskSource<PortTcpConnection>.GetResult(short token)
    {
        _ = ConsumeResult(token);
        PortTcpConnection connection = _accepted!;
        Release();
        return connection;
    }

    PortReceiveFromResult IValueTaskSource<PortReceiveFromResult>.GetResult(short token)
    {
        int received = checked((int)ConsumeResult(token));
        bool truncated = Truncated;
        IPEndPoint remote = SocketEndpoints.ToIPEndPoint(in *(iocph_endpoint*)Scratch, _receiveFamily);
        Release();
        return new PortReceiveFromResult(received, remote, truncated);
    }

    PortReceiveResult IValueTaskSource<PortReceiveResult>.GetResult(short token)
    {
        int received = checked((int)ConsumeResult(token));
        bool truncated = Truncated;
        Release();
        return new PortReceiveResult(received, truncated);
    }

    ValueTaskSourceStatus IValueTaskSource<PortTcpConnection>.GetStatus(short token) => _core.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<PortReceiveFromResult>.GetStatus(short token) => _core.GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<PortReceiveResult>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<PortTcpConnection>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<PortReceiveFromResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<PortReceiveResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);
}
