using System.Runtime.InteropServices;

namespace IocpHybrid.Tests;

/// <summary>
/// Linux: the workers of a port whose continuations run on the thread pool are SCHED_BATCH (a wake-up of
/// theirs must not preempt the pool thread running the application); threads that run application code
/// (inline workers, pool threads) keep the default policy.
/// </summary>
public sealed class WorkerSchedulingPolicyTests
{
    private const int SchedOther = 0;
    private const int SchedBatch = 3;

    public static bool OnLinux => OperatingSystem.IsLinux();

    [Fact(Skip = "scheduling policies are Linux's", SkipUnless = nameof(OnLinux))]
    public async Task AThreadPoolPortsWorkersYieldToTheApplication()
    {
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
        await port.PostAsync(1, 5);

        // The continuation ran on a pool thread: default policy.
        Assert.Equal(SchedOther, sched_getscheduler(0));

        // The worker that delivered the post is now a SCHED_BATCH thread (no other code of the test
        // process makes any).
        Assert.Contains(SchedBatch, ThreadPolicies());
    }

    [Fact(Skip = "scheduling policies are Linux's", SkipUnless = nameof(OnLinux))]
    public async Task AnInlinePortsWorkersKeepTheDefaultPolicy()
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = true, WorkerThreads = 1 });

        // Inline: the continuation runs on the worker itself, which runs the application.
        async Task<(bool OnWorker, int Policy)> OnTheWorkerAsync()
        {
            await port.PostAsync(1, 5).ConfigureAwait(false);
            return (port.IsCurrentThreadWorker, sched_getscheduler(0));
        }

        // (A post the calling thread delivers itself continues there: try until one ran on the worker.)
        bool seen = false;
        for (int i = 0; i < 100 && !seen; i++)
        {
            (bool onWorker, int policy) = await OnTheWorkerAsync();
            if (onWorker)
            {
                Assert.Equal(SchedOther, policy);
                seen = true;
            }
        }

        Assert.True(seen, "no continuation ran on the worker");
    }

    private static List<int> ThreadPolicies()
    {
        var policies = new List<int>();
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                policies.Add(int.Parse(fields[41 - 3], System.Globalization.CultureInfo.InvariantCulture)); // field 41: policy
            }
            catch (IOException)
            {
                // The thread exited in between.
            }
        }

        return policies;
    }

    [DllImport("libc")]
    private static extern int sched_getscheduler(int pid);
}
