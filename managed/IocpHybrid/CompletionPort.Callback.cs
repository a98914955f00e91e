using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IocpHybrid.Interop;

namespace IocpHybrid;

public sealed unsafe partial class CompletionPort
{
    /// <summary>The port whose callback the current thread is running, if any.</summary>
    [ThreadStatic]
    private static CompletionPort? t_callbackPort;

    /// <summary>Runs continuations on the thread pool; <see langword="null"/> with inline completions.</summary>
    private readonly CompletionDispatcher? _dispatcher;

    /// <summary>Whether the batch this thread is delivering handed continuations to <see cref="_dispatcher"/>.</summary>
    [ThreadStatic]
    private static bool t_dispatchPending;

    /// <summary>
    /// The one completion callback of the process: the native workers of every port call it with a
    /// batch of completions; <paramref name="context"/> is a <see cref="GCHandle"/> to the port.
    /// One managed transition per batch. Runs no user code unless the port has inline completions
    /// (otherwise continuations are queued to the thread pool by the operations).
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnCompletions(void* context, iocph_completion* entries, uint count)
    {
        try
        {
            if (GCHandle.FromIntPtr((nint)context).Target is not CompletionPort port)
            {
                FailFast($"the native core called the completion callback with {count} completion(s) after iocph_port_destroy returned.");
                return;
            }

            PortMetrics.CompletionBatch(count);
            if (port._dispatcher is not null)
            {
                WorkerSchedulingPolicy.ApplyToCurrentWorker();
            }

            CompletionPort? previous = t_callbackPort;
            t_callbackPort = port;
            try
            {
                for (uint i = 0; i < count; i++)
                {
                    port.Dispatch(in entries[i]);
                }

                if (t_dispatchPending)
                {
                    t_dispatchPending = false;
                    port._dispatcher!.Schedule();
                }
            }
            finally
            {
                t_callbackPort = previous;
            }
        }
        catch (Exception ex)
        {
            FailFast($"an exception escaped the completion callback: {ex}", ex);
        }
    }

    /// <summary>
    /// Whether the current thread is one of this port's workers delivering a batch (so user code runs
    /// here only as an inline completion). A blocking wait for one of the port's operations on such a
    /// thread can't end: the operation needs this very thread (on io_uring the ring of its handle is
    /// driven by one worker; on IOCP the workers may all be blocked the same way).
    /// </summary>
    internal bool IsCurrentThreadWorker => t_callbackPort == this;

    /// <summary>
    /// Runs an operation's continuation on the thread pool with the rest of the current batch
    /// (called on a worker, from inside <see cref="OnCompletions"/>), or right here on any other thread.
    /// </summary>
    internal void DispatchContinuation(PortOperation operation)
    {
        if (t_callbackPort == this && _dispatcher is not null)
        {
            _dispatcher.Enqueue(operation);
            t_dispatchPending = true; // one Schedule() at the end of the batch
        }
        else
        {
            operation.RunContinuation();
        }
    }

    private void Dispatch(in iocph_completion completion)
    {
        uint id = (uint)completion.user_data;
        PortOperation?[] table = Volatile.Read(ref _operations);
        PortOperation? op = id < (uint)table.Length ? Volatile.Read(ref table[id]) : null;
        if (op is null)
        {
            FailFast($"the native core delivered a completion with an unknown user_data 0x{completion.user_data:X16} (key {completion.key}).");
        }

        op.OnNativeCompletion(in completion);
    }

    /// <summary>Ends the process: a broken invariant in the completion path can't be recovered from safely.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void FailFast(string message, Exception? exception = null) =>
        Environment.FailFast("IocpHybrid bug: " + message, exception);
}
