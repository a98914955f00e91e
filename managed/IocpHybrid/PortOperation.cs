using System.Buffers;
using System.Diagnostics;
using System.Threading.Tasks.Sources;
using IocpHybrid.Interop;

namespace IocpHybrid;

/// <summary>What a <see cref="PortOperation"/> is doing; decides how its result is interpreted.</summary>
internal enum OperationKind : byte
{
    FileRead,
    FileWrite,
    FileFlush,
    PipeRead,
    PipeWrite,
    Post,

    // Socket kinds (errors become SocketException): keep them after every non-socket kind.
    TcpAccept,
    TcpConnect,
    SocketSend,
    SocketReceive,
    UdpSendTo,
    UdpReceiveFrom,
}

/// <summary>
/// One pooled, reusable asynchronous operation: the managed side of one native operation (or posted
/// packet) and the <see cref="IValueTaskSource{TResult}"/> behind the <see cref="ValueTask{TResult}"/>
/// the caller awaits. Nothing is allocated per operation once the pool is warm.
/// </summary>
/// <remarks>
/// <para>Life cycle: <see cref="CompletionPort.RentOperation"/> → <see cref="Prepare"/> → native start →
/// <see cref="Started(ulong)"/> (or <see cref="Abandon"/> when the start failed: the native contract then
/// promises no completion) → <see cref="OnNativeCompletion"/> on a port worker → <see cref="Complete"/> →
/// the awaiter's <c>GetResult</c> → back to the pool.</para>
/// <para>Handshake (the pattern of dotnet/runtime's <c>SafeFileHandle.OverlappedValueTaskSource</c>): the
/// starter must register for cancellation after the native start returned, but the completion may
/// arrive before that. Both sides exchange <see cref="_handshake"/> to 1; whichever finds it already 1
/// finishes second and completes the operation. So the pinned buffer, the cancellation registration and
/// the pooled object are released only after both the starter and the native completion are done.</para>
/// <para>The buffer stays pinned until the native completion arrived, also when the operation was cancelled:
/// the OS may write into it until then.</para>
/// </remarks>
internal sealed unsafe partial class PortOperation : IValueTaskSource<int>, IValueTaskSource<long>, IValueTaskSource
{
    private static readonly Action<object?, CancellationToken> s_cancelCallback =
        static (state, _) => ((PortOperation)state!).CancelNative();

    private readonly CompletionPort _port;

    // Set by the starter before the native start; read by the completion and the cancel callback.
    private OperationKind _kind;
    // The handle the native operation runs on is _owner's (null for posts, and for a connect
    // until its start returned): no copy of its native value here, one field less on every
    // pending operation (an idle connection holds one).
    private PortHandle? _owner;
    private ulong _expectedKey;
    private MemoryHandle _pin;

    // A cancellable token and its registration (24 bytes) are in _rare (PortOperation.Sockets.cs),
    // taken only by uses that have one: an idle connection's wait for data usually has none.
    private uint _sequence;

    // Set by the starter after the native start.
    private ulong _nativeOperation;

    // Set by the completion.
    private long _result;
    private int _osError;
    private uint _flags;

    private int _handshake;
    private int _inFlight; // 0 idle, 1 started, 2 its completion arrived

    internal PortOperation(CompletionPort port, uint id)
    {
        _port = port;
        Id = id;
    }

    /// <summary>The index of this operation in its port's registry: the low 32 bits of user_data.</summary>
    internal uint Id { get; }

    /// <summary>
    /// Records what is about to start and returns the native user_data: (sequence &lt;&lt; 32) | id, so that
    /// a completion can be checked against the use it belongs to.
    /// </summary>
    internal ulong Prepare(OperationKind kind, PortHandle? owner, ulong key, MemoryHandle pin, CancellationToken cancellationToken)
    {
        Debug.Assert(Volatile.Read(ref _inFlight) == 0);
        _kind = kind;
        _owner = owner;
        _expectedKey = key;
        _pin = pin;
        if (cancellationToken.CanBeCanceled)
        {
            Extra.CancellationToken = cancellationToken;
        }

        _nativeOperation = 0;
        ulong userData = BeginNativeUse();
        TrackSend(+1);
        return userData;
    }

    /// <summary>
    /// A new use of the native side: the outcome fields and the handshake reset, a fresh sequence (which the
    /// tripwire checks) and the operation marked in flight. Returns the use's user_data.
    /// </summary>
    private ulong BeginNativeUse()
    {
        _result = 0;
        _osError = 0;
        _flags = 0;
        _handshake = 0;
        _sequence++;
        Volatile.Write(ref _inFlight, 1);
        return ((ulong)_sequence << 32) | Id;
    }

    /// <summary>The native start failed: no completion will come. Releases the buffer and the object.</summary>
    internal void Abandon()
    {
        Volatile.Write(ref _inFlight, 0);
        TrackSend(-1);
        _pin.Dispose();
        _pin = default;
        ReleaseExtraPins();
        ResetSocketState();
        _owner = null;
        _port.ReturnOperation(this);
    }

    /// <summary>The native start succeeded: registers for cancellation, then performs the starter's half of the handshake.</summary>
    internal void Started(ulong nativeOperation)
    {
        _nativeOperation = nativeOperation;
        PortMetrics.OperationStarted(_kind);
        if (_rare is { CancellationToken.CanBeCanceled: true } rare && _kind != OperationKind.Post)
        {
            // Runs the callback synchronously if the token is already cancelled: fine, the native
            // operation exists and _nativeOperation is set.
            rare.Registration = rare.CancellationToken.UnsafeRegister(s_cancelCallback, this);
        }

        if (Interlocked.Exchange(ref _handshake, 1) != 0)
        {
            Complete();
        }
    }

    /// <summary>Called on a port worker for this operation's completion.</summary>
    internal void OnNativeCompletion(in iocph_completion completion)
    {
        uint sequence = (uint)(completion.user_data >> 32);
        bool posted = (completion.flags & (uint)iocph_completion_flags.IOCPH_COMPLETION_POSTED) != 0;
        // 1 -> 2 atomically: a second completion for the same use (a native bug) is caught here, before it
        // could complete the operation twice and release its pinned buffer twice.
        int state = Interlocked.CompareExchange(ref _inFlight, 2, 1);
        if (state != 1 || sequence != _sequence || completion.key != _expectedKey || posted != (_kind == OperationKind.Post))
        {
            CompletionPort.FailFast(
                $"the native core delivered a completion that matches no operation in flight " +
                $"(user_data 0x{completion.user_data:X16}, key {completion.key}, flags {completion.flags}; " +
                $"expected sequence {_sequence}, key {_expectedKey}, kind {_kind}, state {state}: " +
                (state == 2 ? "a second completion for one operation)." : state == 0 ? "the operation is not in flight)." : "a completion for another use of the operation)."));
        }

        _result = completion.result;
        _osError = completion.os_error;
        _flags = completion.flags;
        if (Interlocked.Exchange(ref _handshake, 1) != 0)
        {
            Complete();
        }
    }

    private void CancelNative()
    {
        // IOCPH_E_NOTPENDING (already completed) and IOCPH_E_BADHANDLE (handle closed, which cancels
        // everything anyway) are expected races; the completion still arrives exactly once.
        _ = NativeMethods.iocph_op_cancel(_owner?.NativeHandle ?? 0, Volatile.Read(ref _nativeOperation));
    }

    /// <summary>Both halves are done: release the registration and the pin, then publish the result.</summary>
    private void Complete()
    {
        // A short file write goes on with the rest (PortOperation.Files.cs) until it is whole or fails.
        while (_kind == OperationKind.FileWrite && ContinueShortWrite())
        {
            if (Interlocked.Exchange(ref _handshake, 1) == 0)
            {
                return; // the rest's completion finishes the operation
            }
        }

        PortMetrics.OperationCompleted(_kind, _result);

        // Waits for a cancel callback running on another thread, so it never cancels a later use.
        if (_rare is { } rare)
        {
            rare.Registration.Dispose();
            rare.Registration = default;
        }

        _pin.Dispose();
        _pin = default;
        ReleaseExtraPins();
        Volatile.Write(ref _inFlight, 0);

        // Before the result is published: a continuation that sends again may then try at once.
        TrackSend(-1);
        if (_kind == OperationKind.TcpAccept)
        {
            OnAcceptCompleted();
        }

        long result = _result;
        if (result >= 0 || _kind == OperationKind.Post)
        {
            OnSuccess();
        }
        else
        {
            Extra.Error = CreateException(result);
        }

        SignalCompletion();
    }

    private Exception CreateException(long result)
    {
        int status = result < int.MinValue ? NativeErrors.Unknown : (int)result;
        PortHandle? owner = _owner;
        if (status == NativeErrors.Canceled)
        {
            if (CancellationToken.IsCancellationRequested)
            {
                return new OperationCanceledException(CancellationToken);
            }

            // Cancelled because its handle or its port was disposed while it was in flight.
            if (owner is not null && owner.IsDisposed)
            {
                return new ObjectDisposedException(owner.GetType().FullName, "The handle was disposed while the operation was in flight.");
            }

            if (_port.IsDisposed)
            {
                return new ObjectDisposedException(typeof(CompletionPort).FullName, "The completion port was disposed while the operation was in flight.");
            }

            return new OperationCanceledException("The operation was canceled.");
        }

        if (_kind >= OperationKind.TcpAccept)
        {
            return NativeErrors.CreateSocketException(status, _osError);
        }

        return NativeErrors.CreateException(status, _osError, (owner as PortFile)?.Path, owner?.GetType().FullName);
    }

    /// <summary>Returns the consumed object to the pool.</summary>
    private void Release()
    {
        if (_kind == OperationKind.TcpAccept)
        {
            _port.Reroot(this); // unrooted at its completion (OnAcceptCompleted)
        }

        ResetCore();
        ResetSocketState();
        _owner = null;
        _port.ReturnOperation(this);
    }

    private long GetResultAndRelease(short token)
    {
        long result = ConsumeResult(token);
        Release();
        return result;
    }

    int IValueTaskSource<int>.GetResult(short token) => checked((int)GetResultAndRelease(token));

    long IValueTaskSource<long>.GetResult(short token) => GetResultAndRelease(token);

    void IValueTaskSource.GetResult(short token) => GetResultAndRelease(token);
}
