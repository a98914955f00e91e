using System.Collections.Concurrent;

namespace IocpHybrid;

/// <summary>
/// Runs the continuations of a port without inline completions on the thread pool, a batch per work
/// item instead of a work item per operation.
/// </summary>
/// <remarks>
/// <para>Why: queueing every continuation on its own (what <c>RunContinuationsAsynchronously</c> does)
/// wakes a pool thread per operation; measured on a one-core server that is about two context switches
/// and ~6 µs per operation. Here the native worker hands the whole batch over and at most one work item
/// is scheduled at a time; it completes the operations one after another, each continuation running
/// inline on that pool thread.</para>
/// <para>The scheme is the one of dotnet/runtime's <c>SocketAsyncEngine</c> on Unix: the work item clears
/// the "scheduled" flag before it looks at the queue (so an enqueuer that saw the flag set is never
/// lost), schedules a helper as soon as it found work (so a continuation that blocks can't hold up the
/// rest of the queue forever), and yields after 15 ms so other pool work gets its turn.</para>
/// </remarks>
internal sealed class CompletionDispatcher : IThreadPoolWorkItem
{
    private const int TimeSliceMs = 15;

    /// <summary>The dispatcher whose loop is releasing its hold on the current thread, if any.</summary>
    [ThreadStatic]
    private static CompletionDispatcher? t_releasing;

    private readonly ConcurrentQueue<PortOperation> _ready = new();
    private int _scheduled;

    /// <summary>Queues a completed operation's continuation; the caller calls <see cref="Schedule"/> after its batch.</summary>
    internal void Enqueue(PortOperation operation) => _ready.Enqueue(operation);

    /// <summary>
    /// Makes sure a work item will look at the queue. Nothing to do inside the loop's own release of its
    /// hold: a reaping hold (iocph_thread_hold_wakeups_and_reap) delivers completions there, on this
    /// thread, and the loop looks at the queue again right after it.
    /// </summary>
    internal void Schedule()
    {
        if (t_releasing == this)
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
        {
            WorkerSchedulingPolicy.QueueToThreadPool(this);
        }
    }

    void IThreadPoolWorkItem.Execute()
    {
        Interlocked.Exchange(ref _scheduled, 0);
        if (!_ready.TryDequeue(out PortOperation? operation))
        {
            return;
        }

        // More is queued behind this one: let another pool thread help if one is free. (When the queue
        // is empty now, the next enqueuer schedules, because the flag is already clear.)
        if (!_ready.IsEmpty)
        {
            Schedule();
        }

        int start = Environment.TickCount;
        bool holding = false;
        try
        {
            while (true)
            {
                // Several continuations in a row usually start several operations: hold the port
                // workers' wake-ups and wake each once at the end, and take the completions of the
                // unbuffered reads they started that are ready by then (iocph_thread_hold_wakeups_and_reap:
                // the callback only queues them here). Not for a lone continuation: there the hold would
                // only add a wake-up.
                if (!holding && !_ready.IsEmpty)
                {
                    Interop.NativeMethods.iocph_thread_hold_wakeups_and_reap();
                    holding = true;
                }

                operation.RunContinuation();
                if (Environment.TickCount - start >= TimeSliceMs)
                {
                    break;
                }

                if (!_ready.TryDequeue(out operation))
                {
                    if (!holding)
                    {
                        return;
                    }

                    // The release may deliver completions here (see Schedule): look again after it.
                    holding = false;
                    t_releasing = this;
                    try
                    {
                        Interop.NativeMethods.iocph_thread_release_wakeups();
                    }
                    finally
                    {
                        t_releasing = null;
                    }

                    if (!_ready.TryDequeue(out operation))
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            if (holding)
            {
                // Leaving (time slice, exception): what this release delivers is scheduled as usual.
                Interop.NativeMethods.iocph_thread_release_wakeups();
            }
        }

        Schedule();
    }
}
