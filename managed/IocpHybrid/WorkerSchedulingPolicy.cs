using System.Runtime.InteropServices;

namespace IocpHybrid;

/// <summary>
/// Linux: the native workers of a port whose continuations run on the thread pool are made
/// <c>SCHED_BATCH</c> threads, so that a worker woken by a completion does not preempt the pool
/// thread that is running the application on the same core.
/// </summary>
/// <remarks>
/// <para>Why: such a worker only hands batches over; the work is the application's. A worker that sleeps
/// in the kernel while pool threads run is woken for every request, and with the default policy the
/// wake-up preempts the running pool thread at once (a reschedule interrupt, two context switches, and
/// the application's caches cooled). <c>SCHED_BATCH</c> keeps the worker's fair share of the CPU and only
/// takes away its wake-up preemption: it runs when the pool thread blocks or its slice ends, by which
/// time more completions are waiting. Measured with Kestrel on one core (plaintext, 64 connections,
/// docs/benchmarks.md section 7): a quarter of the server's CPU samples were in that wake-up path, and
/// requests/s rose from 1.0-1.1x to 1.4-1.5x Kestrel's sockets transport with it.</para>
/// <para>Workers of ports with inline completions keep the default policy: they run the application.
/// Changing between <c>SCHED_OTHER</c> and <c>SCHED_BATCH</c> needs no privilege; a refusal (a seccomp
/// profile, say) leaves the thread as it was.</para>
/// </remarks>
internal static unsafe class WorkerSchedulingPolicy
{
    private const int SchedBatch = 3; // <sched.h>

    private const int SchedOther = 0;

    /// <summary>Whether the current thread was looked at already.</summary>
    [ThreadStatic]
    private static bool t_applied;

    /// <summary>Whether the current thread is a worker this class made SCHED_BATCH.</summary>
    [ThreadStatic]
    private static bool t_batch;

    /// <summary>Called on a thread delivering a batch for a port without inline completions.</summary>
    internal static void ApplyToCurrentWorker()
    {
        if (t_applied)
        {
            return;
        }

        t_applied = true;

        // A pool thread delivers completions too, inside a reaping hold (CompletionDispatcher): it
        // runs the application and keeps its policy.
        if (OperatingSystem.IsLinux() && !Thread.CurrentThread.IsThreadPoolThread)
        {
            t_batch = Set(SchedBatch);
        }
    }

    /// <summary>
    /// Queues a work item to the thread pool with the worker's default policy restored for the call:
    /// a pool thread the runtime creates inside it is created by this thread and would inherit
    /// SCHED_BATCH (pthread_create's default), and pool threads run the application.
    /// </summary>
    internal static void QueueToThreadPool(IThreadPoolWorkItem item)
    {
        if (!t_batch)
        {
            ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
            return;
        }

        Set(SchedOther);
        try
        {
            ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
        }
        finally
        {
            Set(SchedBatch);
        }
    }

    private static bool Set(int policy)
    {
        int priority = 0; // struct sched_param { int sched_priority; }: 0 for both policies
        return sched_setscheduler(0, policy, &priority) == 0;
    }

    [DllImport("libc", ExactSpelling = true)]
    private static extern int sched_setscheduler(int pid, int policy, int* param);
}
