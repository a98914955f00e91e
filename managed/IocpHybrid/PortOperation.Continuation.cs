using System.Threading.Tasks.Sources;

namespace IocpHybrid;

/// <summary>
/// Where an awaiter's continuation runs. The result is published the moment the native completion
/// arrives (so <c>IsCompleted</c> is true as soon as the port is done with the operation, also during
/// disposal), but the continuation itself is not run on the port's worker unless the port has inline
/// completions: the worker hands it to the port's <see cref="CompletionDispatcher"/>, which runs a whole
/// batch of continuations on one thread-pool work item.
/// </summary>
internal sealed partial class PortOperation
{
    private static readonly Action<object?> s_dispatch = static state => ((PortOperation)state!).Dispatch();
    private static readonly ContextCallback s_runInContext = static state => ((PortOperation)state!).InvokeContinuation();

    // The awaiter's continuation, held here while the core holds s_dispatch (no scheduling context).
    private Action<object?>? _continuation;
    private object? _continuationState;
    private ExecutionContext? _continuationContext;

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        if (_port.InlineCompletions || HasSchedulingContext(flags))
        {
            // Inline: run where the completion arrives. A SynchronizationContext or TaskScheduler: the
            // core posts to it, never inline.
            _core.OnCompleted(continuation, state, token, flags);
            return;
        }

        // Validate before writing anything: the fields below belong to the current use, and an awaiter of
        // an earlier use (a ValueTask awaited twice) or a second awaiter of this one must be refused
        // without replacing the continuation of the awaiter that registered first (the order of
        // ManualResetValueTaskSourceCore.OnCompleted, which validates, then stores).
        if (token != _core.Version)
        {
            throw new InvalidOperationException("The ValueTask was already consumed; a ValueTask may be awaited only once.");
        }

        // Claims the fields: a second awaiter of the same use fails here, before it writes.
        if (Interlocked.CompareExchange(ref _continuation, continuation, null) is not null)
        {
            throw new InvalidOperationException("The ValueTask is already being awaited; a ValueTask may be awaited only once.");
        }

        _continuationState = state;
        _continuationContext = (flags & ValueTaskSourceOnCompletedFlags.FlowExecutionContext) != 0 ? ExecutionContext.Capture() : null;
        try
        {
            // Publishes the fields above (an interlocked exchange inside) before the completion can read them.
            _core.OnCompleted(s_dispatch, this, token, ValueTaskSourceOnCompletedFlags.None);
        }
        catch
        {
            // The core refused (an awaiter that went to the core directly, with a scheduling context,
            // registered first): the fields are not this use's continuation after all.
            _continuationState = null;
            _continuationContext = null;
            Volatile.Write(ref _continuation, null);
            throw;
        }
    }

    private static bool HasSchedulingContext(ValueTaskSourceOnCompletedFlags flags)
    {
        if ((flags & ValueTaskSourceOnCompletedFlags.UseSchedulingContext) == 0)
        {
            return false;
        }

        SynchronizationContext? sc = SynchronizationContext.Current;
        return (sc is not null && sc.GetType() != typeof(SynchronizationContext)) || TaskScheduler.Current != TaskScheduler.Default;
    }

    /// <summary>The core signalled completion: on a port worker, queue; elsewhere (the pool, when the
    /// awaiter registered after completion), run now.</summary>
    private void Dispatch() => _port.DispatchContinuation(this);

    /// <summary>Runs the awaiter's continuation (once) in the execution context it captured.</summary>
    internal void RunContinuation()
    {
        if (_continuationContext is { } context)
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
        // Clear first: the continuation usually consumes the result, which returns this object to the
        // pool, where another use may set new fields at once.
        Action<object?> continuation = _continuation!;
        object? state = _continuationState;
        _continuation = null;
        _continuationState = null;
        _continuationContext = null;
        continuation(state);
    }
}
