using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace IocpHybrid.Tests;

/// <summary>
/// The operation's own value-task core (PortOperation.Continuation.cs) keeps the semantics of
/// ManualResetValueTaskSourceCore, on ports with and without inline completions: misuse refused,
/// the execution context flowing, a scheduling context honoured, an awaiter after the completion
/// queued; and it stays small (an idle connection's pending receive holds one).
/// </summary>
public sealed class ValueTaskCoreTests
{
    [Fact]
    public void APortOperationIsAtMost136Bytes()
    {
        // Exactly the instance size: nothing runs but the allocation.
        RuntimeHelpers.GetUninitializedObject(typeof(PortOperation));
        long before = GC.GetAllocatedBytesForCurrentThread();
        object operation = RuntimeHelpers.GetUninitializedObject(typeof(PortOperation));
        long size = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(operation);
        Assert.True(size <= 136, $"PortOperation is {size} bytes");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AValueTaskAwaitedTwiceThrows(bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline });
        ValueTask<long> post = port.PostAsync(1, 5);
        Assert.Equal(5, await post.Within());
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await post);
        Assert.Throws<InvalidOperationException>(() => post.GetAwaiter().GetResult());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnAwaiterAfterTheCompletionIsQueuedInItsContextAndASecondOneIsRefused(bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline });
        var local = new AsyncLocal<string?>();
        ValueTask<long> post = port.PostAsync(2, 6);
        await WaitUntil(() => post.IsCompleted);

        local.Value = "caller";
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        post.GetAwaiter().OnCompleted(() => seen.SetResult(local.Value));
        bool secondRan = false;
        Assert.Throws<InvalidOperationException>(() => post.GetAwaiter().UnsafeOnCompleted(() => secondRan = true));
        local.Value = "changed after OnCompleted";

        Assert.Equal("caller", await seen.Task.Within());
        Assert.Equal(6, await post); // completed: reads the result at once
        Assert.False(secondRan, "the second awaiter's continuation ran");
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public async Task TheExecutionContextFlowsOnlyWhenAskedFor(bool inline, bool flow)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline });
        using PortPipe pipe = port.CreatePipe();
        var local = new AsyncLocal<string?> { Value = "caller" };
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var buffer = new byte[1];
        ValueTask<int> read = pipe.Reader.ReadAsync(buffer);
        Assert.False(read.IsCompleted);
        ValueTaskAwaiter<int> awaiter = read.GetAwaiter();
        if (flow)
        {
            awaiter.OnCompleted(() => seen.SetResult(local.Value));
        }
        else
        {
            awaiter.UnsafeOnCompleted(() => seen.SetResult(local.Value));
        }

        local.Value = "changed after OnCompleted";
        await pipe.Writer.WriteAsync(new byte[] { 1 }).Within();
        Assert.Equal(flow ? "caller" : null, await seen.Task.Within());
        Assert.Equal(1, await read); // completed: reads the result at once
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ASynchronizationContextGetsTheContinuationPostedAlsoOnAnInlinePort(bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline });
        using PortPipe pipe = port.CreatePipe();
        var context = new CountingContext();
        var done = new TaskCompletionSource<(bool Posted, int Read)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var buffer = new byte[1];
        ValueTask<int> read = pipe.Reader.ReadAsync(buffer);
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            var awaiter = read.ConfigureAwait(true).GetAwaiter();
            awaiter.UnsafeOnCompleted(() => done.SetResult((CountingContext.InPost, awaiter.GetResult())));
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        await pipe.Writer.WriteAsync(new byte[] { 2 }).Within();
        var (posted, count) = await done.Task.Within();
        Assert.True(posted, "the continuation did not run from the context's Post");
        Assert.Equal(1, count);
        Assert.Equal(1, context.Posts);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ATaskSchedulerGetsTheContinuation(bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline });
        using PortPipe pipe = port.CreatePipe();
        var pair = new ConcurrentExclusiveSchedulerPair();
        var awaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task<(TaskScheduler Scheduler, int Read)> reader = Task.Factory.StartNew(
            async () =>
            {
                var buffer = new byte[1];
                ValueTask<int> read = pipe.Reader.ReadAsync(buffer);
                awaiting.SetResult();
                int n = await read; // the continuation is posted to the scheduler (pending or not by now)
                return (TaskScheduler.Current, n);
            },
            CancellationToken.None,
            TaskCreationOptions.DenyChildAttach,
            pair.ExclusiveScheduler).Unwrap();
        await awaiting.Task.Within();
        await pipe.Writer.WriteAsync(new byte[] { 3 }).Within();
        var (scheduler, count) = await reader.Within();
        Assert.Same(pair.ExclusiveScheduler, scheduler);
        Assert.Equal(1, count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ACancelledOperationReportsCanceledAndAFailedOneFaulted(bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline });
        using PortPipe pipe = port.CreatePipe();
        using var cts = new CancellationTokenSource();
        ValueTask<int> read = pipe.Reader.ReadAsync(new byte[1], cts.Token);
        cts.Cancel();
        await WaitUntil(() => read.IsCompleted);
        Assert.True(read.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await read);

        // The use after it (the same pooled object, most likely) starts clean.
        Assert.Equal(7, await port.PostAsync(3, 7).Within());

        // Writing into a pipe whose read end is closed fails (EPIPE, ERROR_NO_DATA).
        pipe.Reader.Dispose();
        ValueTask<int> broken = pipe.Writer.WriteAsync(new byte[] { 1 });
        await WaitUntil(() => broken.IsCompleted);
        Assert.True(broken.IsFaulted);
        Assert.False(broken.IsCanceled);
        Exception error = await Assert.ThrowsAnyAsync<Exception>(async () => await broken);
        Assert.IsNotAssignableFrom<OperationCanceledException>(error);
    }

    [Fact]
    public async Task AResultReadTheMomentItIsPublishedLeavesTheNextUseAlone()
    {
        // Reading the result as soon as IsCompleted says so (what an await that finds the operation
        // complete does) gives the object back to the pool while the completion may still be inside
        // SignalCompletion; the next use, awaited at once, must not see that completion's leftovers
        // (its continuation run early, or a completed sentinel). More loops than cores, so that the
        // port's worker is preempted now and then at the worst moment.
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
        int loops = Environment.ProcessorCount * 2;
        await Task.WhenAll(Enumerable.Range(0, loops).Select(_ => Task.Run(Loop))).Within();

        async Task Loop()
        {
            for (int i = 0; i < 3000; i++)
            {
                ValueTask<long> first = port.PostAsync(1, i);
                while (!first.IsCompleted)
                {
                    Thread.Yield();
                }

                Assert.Equal(i, first.GetAwaiter().GetResult());
                Assert.Equal(i + 1, await port.PostAsync(2, i + 1));
            }
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TestSupport.StepTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(1);
        }
    }

    /// <summary>Runs what is posted on the pool, marking the callback so the test can tell it came through Post.</summary>
    private sealed class CountingContext : SynchronizationContext
    {
        [ThreadStatic]
        private static bool t_inPost;
        private int _posts;

        public static bool InPost => t_inPost;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.UnsafeQueueUserWorkItem(
                _ =>
                {
                    t_inPost = true;
                    try
                    {
                        d(state);
                    }
                    finally
                    {
                        t_inPost = false;
                    }
                },
                null);
        }
    }
}
