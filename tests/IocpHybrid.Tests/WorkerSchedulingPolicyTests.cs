using System.Net;
using System.Net.Sockets;
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
        using var listener = port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(listener.LocalEndPoint).Within();
        using PortTcpConnection server = await listener.AcceptAsync().Within();

        // Inline: the continuation runs on the worker itself, which runs the application. A receive
        // whose data is sent only after the await has registered its continuation completes on the
        // worker (a post could complete before the await and continue on the calling thread: under
        // load that happened 100 times in a row).
        async Task<(bool OnWorker, int Policy)> OnTheWorkerAsync()
        {
            var buffer = new byte[1];
            ValueTask<int> receive = server.ReceiveAsync(buffer.AsMemory());
            Task send = Task.Run(async () =>
            {
                await Task.Delay(20).ConfigureAwait(false);
                await client.GetStream().WriteAsync(new byte[] { 1 }).ConfigureAwait(false);
            });
            await receive.ConfigureAwait(false);
            (bool, int) seenThere = (port.IsCurrentThreadWorker, sched_getscheduler(0));
            await send.ConfigureAwait(false);

            // Off the worker before returning: the test goes on to dispose the port, which its own
            // worker must not do.
            await Task.Delay(1).ConfigureAwait(false);
            return seenThere;
        }

        bool seen = false;
        for (int i = 0; i < 20 && !seen; i++)
        {
            (bool onWorker, int policy) = await OnTheWorkerAsync().Within();
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
