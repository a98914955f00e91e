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
    // What only some uses need (accepts, datagrams, gather sends, file writes, a cancellable token),
    // in an object taken from the port's pool when a use needs it and given back when the use is
    // over (Release, Abandon): a pending wait for data, what an idle connection holds, carries one
    // null reference instead of ~90 bytes (PortOperation 280 -> 192 bytes). Not
    // kept with the pooled operation: an accept loop's operations then serve the connections'
    // receives, and every one of them would carry its 80-byte Rare (and the accept's pinned
    // scratch) while it waits.
    private Rare? _rare;

    private int _requestedLength;

    /// <summary>The use's side object, lent by the port on first need.</summary>
    /// <remarks>
    /// Claimed with a compare-exchange: an awaiter capturing a scheduling context and a completion storing
    /// its error may both need it at once (PortOperation.Continuation.cs); the loser gives its copy back.
    /// </remarks>
    private Rare Extra => _rare ?? LendRare();

    private Rare LendRare()
    {
        Rare rare = _port.RentRare();
        if (Interlocked.CompareExchange(ref _rare, rare, null) is { } winner)
        {
            _port.ReturnRare(rare);
            return winner;
        }

        return rare;
    }

    /// <summary>The use's token (default when it has none).</summary>
    private CancellationToken CancellationToken => _rare?.CancellationToken ?? default;

    /// <summary>Pinned memory of at least <c>sizeof(iocph_accept_result)</c> bytes, valid while the object lives.</summary>
    internal void* Scratch
    {
        get
        {
            Rare rare = Extra;
            rare.Scratch ??= GC.AllocateArray<byte>(sizeof(iocph_accept_result), pinned: true);
            return Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(rare.Scratch));
        }
    }

    /// <summary>Keeps one more buffer pinned until the completion (gather sends).</summary>
    internal void AddPin(MemoryHandle pin)
    {
        Rare rare = Extra;
        rare.ExtraPins ??= new MemoryHandle[(int)NativeMethods.IOCPH_MAX_BUFFERS];
        rare.ExtraPins[rare.ExtraPinCount++] = pin;
    }

    /// <summary>Accept: the key of the socket the native side creates.</summary>
    internal void SetAcceptKey(ulong key) => Extra.AcceptKey = key;

    /// <summary>A receive's buffer length (whether it came back full tells the next receive whether to try first).</summary>
    internal void SetRequestedLength(int length) => _requestedLength = length;

    /// <summary>Receive-from: the family the caller expects and, for the allocation-free form, where the sender goes.</summary>
    internal void SetReceiveTarget(AddressFamily family, SocketAddress? address)
    {
        Rare rare = Extra;
        rare.ReceiveFamily = family;
        rare.ReceivedAddress = address;
    }

    /// <summary>
    /// The native start of a connect succeeded: the handle it created is known only now.
    /// Records its owner (for cancellation and for disposal errors), then completes the starter's half.
    /// </summary>
    internal void Started(ulong nativeOperation, PortHandle owner)
    {
        _owner = owner;
        Started(nativeOperation);
    }

    private void ReleaseExtraPins()
    {
        if (_rare is not { ExtraPinCount: > 0 } rare)
        {
            return;
        }

        for (int i = 0; i < rare.ExtraPinCount; i++)
        {
            rare.ExtraPins![i].Dispose();
            rare.ExtraPins[i] = default;
        }

        rare.ExtraPinCount = 0;
    }

    /// <summary>Counts a TCP send on its connection while it is in flight (see PortTcpConnection.SendOrder.cs).</summary>
    private void TrackSend(int delta)
    {
        if (_kind == OperationKind.SocketSend && _owner is PortTcpConnection connection)
        {
            connection.AddSendsInFlight(delta);
        }
    }

    /// <summary>The end of a use (its results read, or its start failed): the rarely used fields go back to the port.</summary>
    private void ResetSocketState()
    {
        if (_rare is { } rare)
        {
            rare.AcceptKey = 0;
            rare.Accepted = null;
            rare.ReceivedAddress = null;
            rare.CancellationToken = default;
            rare.Error = null;
            rare.CapturedScheduler = null;
            rare.ExecutionContext = null;
            _rare = null;
            _port.ReturnRare(rare);
        }
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
            _rare!.Accepted = new PortTcpConnection(_port, accepted.socket, _rare.AcceptKey);
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

        if (_kind == OperationKind.UdpReceiveFrom && _rare?.ReceivedAddress is { } address)
        {
            SocketEndpoints.Write(in *(iocph_endpoint*)Scratch, address);
        }
    }

    private bool Truncated => (_flags & (uint)iocph_completion_flags.IOCPH_COMPLETION_TRUNCATED) != 0;

    PortTcpConnection IValueTaskSource<PortTcpConnection>.GetResult(short token)
    {
        _ = ConsumeResult(token);
        PortTcpConnection connection = _rare!.Accepted!;
        Release();
        return connection;
    }

    PortReceiveFromResult IValueTaskSource<PortReceiveFromResult>.GetResult(short token)
    {
        int received = checked((int)ConsumeResult(token));
        bool truncated = Truncated;
        IPEndPoint remote = SocketEndpoints.ToIPEndPoint(in *(iocph_endpoint*)Scratch, _rare!.ReceiveFamily);
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

    ValueTaskSourceStatus IValueTaskSource<PortTcpConnection>.GetStatus(short token) => GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<PortReceiveFromResult>.GetStatus(short token) => GetStatus(token);

    ValueTaskSourceStatus IValueTaskSource<PortReceiveResult>.GetStatus(short token) => GetStatus(token);

    void IValueTaskSource<PortTcpConnection>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<PortReceiveFromResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);

    void IValueTaskSource<PortReceiveResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        OnCompleted(continuation, state, token, flags);

    /// <summary>The fields only some uses need (see <see cref="_rare"/>); pooled by the port.</summary>
    internal sealed class Rare
    {
        // A cancellable token of the use and its registration (made once the native start succeeded).
        public CancellationToken CancellationToken;
        public CancellationTokenRegistration Registration;

        // Pinned on the POH, allocated on first use and kept with this object: it holds an iocph_accept_result (the
        // largest thing the native side writes back into caller memory) or a datagram's sender.
        public byte[]? Scratch;

        // Pins of the buffers of a gather send beyond the first (IOCPH_MAX_BUFFERS at most).
        public MemoryHandle[]? ExtraPins;
        public int ExtraPinCount;

        // Accept: the key the accepted socket is associated under.
        public ulong AcceptKey;

        // Accept: the connection, made when the completion arrives rather than when the result is read, so
        // the socket is owned (closed by the connection's finalizer) also when nobody ever reads the result.
        public PortTcpConnection? Accepted;

        // Receive-from: where to store the sender (the allocation-free form), and the family the caller expects.
        public SocketAddress? ReceivedAddress;
        public AddressFamily ReceiveFamily;

        // A file write (PortOperation.Files.cs): what was asked, and how much of it the completed native writes took.
        public uint WriteLength;
        public ulong WriteOffset;
        public uint Written;

        // The use failed: the exception GetResult throws (PortOperation.Continuation.cs).
        public Exception? Error;

        // The awaiter's SynchronizationContext or TaskScheduler, to post its continuation to, and the
        // execution context to run it in (an OnCompleted that flows it; an await never asks).
        public object? CapturedScheduler;
        public ExecutionContext? ExecutionContext;
    }
}
