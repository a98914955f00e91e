using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace IocpHybrid;

/// <summary>
/// The value-task core of <see cref="PortOperation"/>: the version, the completed flag and the awaiter's
/// continuation, held once. (A <c>ManualResetValueTaskSourceCore&lt;long&gt;</c> plus the fields the
/// dispatcher needs took 80 bytes of every pending operation, an idle connection's among them; this
/// takes 19: the result is <see cref="_result"/>, and the error, the execution context to flow and a
/// captured scheduling context, which an idle receive never has, live in the lent <see cref="Rare"/>.)
/// </summary>
/// <remarks>
/// <para>The semantics are those of dotnet/runtime's <c>ManualResetValueTaskSourceCore</c>: a token of
/// another use is refused, the awaiter's execution context flows when it asks for it, a captured
/// SynchronizationContext or TaskScheduler gets the continuation posted (never inlined), and an awaiter
/// that registers after the completion has its continuation queued to the thread pool. Unlike it, a
/// second awaiter of one use is always refused, without touching the first one's fields.</para>
/// <para>Where the continuation runs otherwise: the result is published the moment the native completion
/// arrives (so <c>IsCompleted</c> is true as soon as the port is done with the operation, also during
/// disposal), but the continuation itself is not run on the port's worker unless the port has inline
/// completions: the worker hands it to the port's <see cref="CompletionDispatcher"/>, which runs a whole
/// batch of continuations on one thread-pool work item.</para>
/// <para>The race between <see cref="OnCompleted"/> and the completion is settled on
/// <see cref="_continuation"/> alone, with sentinels (the scheme of <c>ManualResetValueTaskSourceCore</c>,
/// one step longer): null (neither came yet) → <see cref="s_registering"/> (an awaiter claimed the use and
/// is writing its state) → the awaiter's delegate (published with its state); or null →
/// <see cref="s_completed"/> (completed before any awaiter); or <see cref="s_registering"/> →
/// <see cref="s_handedOver"/> (completed while the awaiter wrote its state: the awaiter queues its
/// continuation itself). Whoever comes second runs or queues the continuation; the delegate stays in the
/// field until the next use, so any later awaiter is refused.</para>
/// </remarks>
internal sealed partial class PortOperation
{
    private static readonly Action<object?> s_registering = static _ => Debug.Fail("sentinel invoked");
    private static readonly Action<object?> s_completed = static _ => Debug.Fail("sentinel invoked");
    private static readonly Action<object?> s_handedOver = static _ => Debug.Fail("sentinel invoked");
    private static readonly ContextCallback s_runInContext = static state => ((PortOperation)state!).InvokeContinuation();
    private static readonly ContextCallback s_postInContext = static state => ((PortOperation)state!).PostToScheduler();
    private static readonly SendOrPostCallback s_posted = static state => ((PortOperation)state!).InvokeContinuation();

    // The awaiter's continuation, or a sentinel (see the remarks), and its state. The execution context
    // to run it in is in Rare: an await never asks for one (the async method's builder restores its
    // own), only a direct OnCompleted does.
    private Action<object?>? _continuation;
    private object? _continuationState;

    // The token of the current use (the ValueTask's), and whether its outcome is published.
    private short _version;
    private bool _completed;

    /// <summary>The token of the <see cref="ValueTask"/> handed out for the current use.</summary>
    internal short Version => _version;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        ValidateToken(token);
        bool flow = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0;
        object? scheduler = (flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) != 0 ? CaptureScheduler() : null;

        // Claims the use before writing anything: a second awaiter (or one of an earlier use that got
        // past the token check just before a reset) fails here and leaves the first one's state alone.
        Action<object?>? previous = Interlocked.CompareExchange(ref _continuation, s_registering, null);
        if (previous is null)
        {
            _continuationState = state;
            if (flow && ExecutionContext.Capture() is { } context)
            {
                Extra.ExecutionContext = context;
            }

            if (scheduler is not null)
            {
                Extra.CapturedScheduler = scheduler;
            }

            // Publishes the state above with the delegate (a full fence): the completion reads it only
            // after it saw the delegate.
            previous = Interlocked.CompareExchange(ref _continuation, continuation, s_registering);
            if (ReferenceEquals(previous, s_registering))
            {
                return; // the completion runs it
            }

            // The completion came while the state was written and left the continuation to this thread.
            Debug.Assert(ReferenceEquals(previous, s_handedOver));
            Volatile.Write(ref _continuation, continuation);
        }
        else if (!ReferenceEquals(previous, s_completed) ||
                 !ReferenceEquals(Interlocked.CompareExchange(ref _continuation, continuation, s_completed), s_completed))
        {
            throw new InvalidOperationException("The ValueTask is already being awaited; a ValueTask may be awaited only once.");
        }

        // Already completed: never inline into the awaiter's stack (as ManualResetValueTaskSourceCore).
        QueueCompleted(continuation, state, flow, scheduler);
    }

    private void ValidateToken(short token)
    {
        if (token != _version)
        {
            throw new InvalidOperationException("The ValueTask was already consumed; a ValueTask may be awaited only once.");
        }
    }

    /// <summary>A SynchronizationContext (of a type other than the base one) or a TaskScheduler other than the default, if the current thread has one.</summary>
    private static object? CaptureScheduler()
    {
        SynchronizationContext? sc = SynchronizationContext.Current;
        if (sc is not null && sc.GetType() != typeof(SynchronizationContext))
        {
            return sc;
        }

        TaskScheduler ts = TaskScheduler.Current;
        return ts != TaskScheduler.Default ? ts : null;
    }

    private static void QueueCompleted(Action<object?> continuation, object? state, bool flow, object? scheduler)
    {
        switch (scheduler)
        {
            case null when flow:
                // Captures the current context, which is the awaiter's.
                ThreadPool.QueueUserWorkItem(continuation, state, preferLocal: true);
                break;
            case null:
                ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: true);
                break;
            case SynchronizationContext sc:
                sc.Post(static s =>
                {
                    var (c, cs) = (Tuple<Action<object?>, object?>)s!;
                    c(cs);
                }, Tuple.Create(continuation, state));
                break;
            case TaskScheduler ts:
                _ = Task.Factory.StartNew(continuation, state, CancellationToken.None, TaskCreationOptions.DenyChildAttach, ts);
                break;
        }
    }

    /// <summary>Publishes the outcome (<see cref="_result"/>, and <see cref="Rare.Error"/> on failure) and runs or hands on the continuation, if an awaiter registered.</summary>
    private void SignalCompletion()
    {
        // Release: whoever sees the flag sees the outcome written before it.
        Volatile.Write(ref _completed, true);
        Action<object?>? continuation = Interlocked.CompareExchange(ref _continuation, s_completed, null);
        if (continuation is null)
        {
            return; // an awaiter that comes now queues its continuation itself
        }

        if (ReferenceEquals(continuation, s_registering) &&
            ReferenceEquals(Interlocked.CompareExchange(ref _continuation, s_handedOver, s_registering), s_registering))
        {
            return; // the awaiter still writing its state queues its continuation itself
        }

        if (_rare is { CapturedScheduler: not null } rare)
        {
            // Posted, never inline, in the awaiter's execution context (which the post then captures).
            if (rare.ExecutionContext is { } context)
            {
                ExecutionContext.Run(context, s_postInContext, this);
            }
            else
            {
                PostToScheduler();
            }
        }
        else if (_port.InlineCompletions)
        {
            RunContinuation();
        }
        else
        {
            // On a port worker: queued for the dispatcher's next batch; elsewhere run now.
            _port.DispatchContinuation(this);
        }
    }

    private void PostToScheduler()
    {
        switch (_rare!.CapturedScheduler)
        {
            case SynchronizationContext sc:
                sc.Post(s_posted, this);
                break;
            case TaskScheduler ts:
                _ = Task.Factory.StartNew(_continuation!, _continuationState, CancellationToken.None, TaskCreationOptions.DenyChildAttach, ts);
                break;
        }
    }

    /// <summary>Runs the awaiter's continuation (once) in the execution context it captured.</summary>
    internal void RunContinuation()
    {
        if (_rare?.ExecutionContext is { } context)
        {
            ExecutionContext.Run(context, s_runInContext, this);
        }
        else
        {
            InvokeContinuation();
        }
    }

    private void InvokeContinuation()
    {
        // Read before the call: the continuation usually consumes the result, which returns this object
        // to the pool, where another use may set new fields at once.
        Action<object?> continuation = _continuation!;
        object? state = _continuationState;
        continuation(state);
    }

    /// <summary>
    /// Whether the outcome is published and the completion is done with <see cref="_continuation"/>.
    /// The completion sets <see cref="_completed"/>, then settles <see cref="_continuation"/>: a reader that
    /// went by the flag alone could consume the result and give the object back to the pool in between,
    /// and the completion's compare-exchange would then land in the next use (a sentinel there, or the
    /// next awaiter's continuation run before its operation completed). Hence, as in
    /// ManualResetValueTaskSourceCore.GetStatus, the field too: no longer null (nor still being
    /// registered) means the completion's last write to it is done, or an awaiter's continuation waits
    /// for it, which only that continuation reads after.
    /// </summary>
    private bool IsCompletedCore
    {
        get
        {
            Action<object?>? continuation = Volatile.Read(ref _continuation);
            return continuation is not null && !ReferenceEquals(continuation, s_registering) && Volatile.Read(ref _completed);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token)
    {
        ValidateToken(token);
        if (!IsCompletedCore)
        {
            return ValueTaskSourceStatus.Pending;
        }

        return _rare?.Error switch
        {
            null => ValueTaskSourceStatus.Succeeded,
            OperationCanceledException => ValueTaskSourceStatus.Canceled,
            _ => ValueTaskSourceStatus.Faulted,
        };
    }

    /// <summary>Reads the result (or throws its exception) without releasing the object: pair with <see cref="Release"/>.</summary>
    private long ConsumeResult(short token)
    {
        // A misused ValueTask (awaited twice, or read before completion) must not return this object to
        // the pool a second time: check before releasing anything.
        if (token != _version || !IsCompletedCore)
        {
            throw new InvalidOperationException("The ValueTask was already consumed or is not complete; a ValueTask may be awaited only once.");
        }

        if (_rare?.Error is { } error)
        {
            Release();
            ExceptionDispatchInfo.Throw(error);
        }

        return _result;
    }

    /// <summary>The next use: a new token, nothing completed, no awaiter (the lent fields go back in <see cref="ResetSocketState"/>).</summary>
    private void ResetCore()
    {
        _version++;
        _completed = false;
        _continuationState = null;
        _continuation = null;
    }
}
