namespace IocpHybrid.Tests;

/// <summary>
/// Where continuations run on a port without inline completions: a batch at a time on the thread
/// pool (CompletionDispatcher), with the awaiter's execution context, posted to a captured
/// SynchronizationContext, and never stuck behind a continuation that blocks on the port.
/// </summary>
public sealed class ContinuationDispatchTests : IAsyncLifetime
{
    private readonly CompletionPort _port = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _port.DisposeAsync().Within();

    // Blocking waits are what this test is about (sync-over-async inside a continuation).
#pragma warning disable xUnit1031
    [Fact]
    public async Task AContinuationThatBlocksOnAnotherOperationOfThePortDoesNotHang()
    {
        using var pipeA = _port.CreatePipe();
        using var pipeB = _port.CreatePipe();
        for (int round = 0; round < 20; round++)
        {
            // Two completions that usually arrive in one batch: the dispatcher then holds the port
            // workers' wake-ups while it runs their continuations, and each of them blocks on a
            // round trip through the port before it returns.
            ValueTask<long> first = _port.PostAsync(1, 1);
            ValueTask<long> second = _port.PostAsync(1, 2);
            await Task.WhenAll(BlockAfter(first, pipeA, round), BlockAfter(second, pipeB, round)).Within();
        }

        async Task BlockAfter(ValueTask<long> post, PortPipe pipe, int index)
        {
            await post;
            var buffer = new byte[4];
            Task<int> read = pipe.Reader.ReadAsync(buffer).AsTask();
            Assert.True(pipe.Writer.WriteAsync(new byte[] { 1, 2, 3, (byte)index }).AsTask().Wait(TimeSpan.FromSeconds(30)), "a blocking wait inside a continuation hung");
            Assert.True(read.Wait(TimeSpan.FromSeconds(30)), "a blocking wait inside a continuation hung");
            Assert.Equal(4, read.Result);
            Assert.Equal((byte)index, buffer[3]);
            Task<long> post2 = _port.PostAsync(2, 7).AsTask();
            Assert.True(post2.Wait(TimeSpan.FromSeconds(30)), "a blocking wait inside a continuation hung");
            Assert.Equal(7, post2.Result);
        }
    }
#pragma warning restore xUnit1031

    [Fact]
    public async Task ManyContinuationsOfOneBatchEachRunOnceOnThePool()
    {
        const int count = 2000;
        var onPool = new bool[count];
        var tasks = new Task[count];
        for (int i = 0; i < count; i++)
        {
            int index = i;
            tasks[i] = Run(index);
        }

        await Task.WhenAll(tasks).Within();
        Assert.All(onPool, Assert.True);

        async Task Run(int index)
        {
            long value = await _port.PostAsync(3, index);
            Assert.Equal(index, value);
            onPool[index] = Thread.CurrentThread.IsThreadPoolThread;
        }
    }

    [Fact]
    public async Task OnCompletedRunsTheCallbackInTheCallersExecutionContext()
    {
        var local = new AsyncLocal<string?> { Value = "caller" };
        var seen = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        ValueTask<long> post = _port.PostAsync(4, 4);
        // The flowing form (OnCompleted, not UnsafeOnCompleted) asks for the execution context.
        post.GetAwaiter().OnCompleted(() => seen.SetResult(local.Value));
        local.Value = "changed after OnCompleted";
        Assert.Equal("caller", await seen.Task.Within());
        Assert.Equal(4, await post);
    }

    [Fact]
    public async Task AContinuationCapturedInASynchronizationContextIsPostedThere()
    {
        using var context = new SingleThreadContext();
        using var pipe = _port.CreatePipe();
        var pending = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource<(bool OnContextThread, int Read)>(TaskCreationOptions.RunContinuationsAsynchronously);
        context.Post(
            _ =>
            {
                var buffer = new byte[8];
                // What an await does, by hand, so the test knows the continuation is registered
                // (and captured this context) before anything is written.
                var awaiter = pipe.Reader.ReadAsync(buffer).ConfigureAwait(true).GetAwaiter();
                if (awaiter.IsCompleted)
                {
                    pending.SetResult(false);
                    return;
                }

                awaiter.UnsafeOnCompleted(() => done.SetResult((Thread.CurrentThread == context.Thread, awaiter.GetResult())));
                pending.SetResult(true);
            },
            null);
        Assert.True(await pending.Task.Within(), "the read finished before anything was written");
        await pipe.Writer.WriteAsync(new byte[] { 1, 2, 3 }).Within();
        var (onContextThread, read) = await done.Task.Within();
        Assert.True(onContextThread, "the continuation did not run on the captured SynchronizationContext");
        Assert.Equal(3, read);
        Assert.True(context.Posts >= 2, "the continuation was not posted to the context"); // the callback and the continuation
    }

    /// <summary>A SynchronizationContext that runs everything posted to it on one thread.</summary>
    private sealed class SingleThreadContext : SynchronizationContext, IDisposable
    {
        private readonly System.Collections.Concurrent.BlockingCollection<(SendOrPostCallback, object?)> _queue = new();
        private int _posts;

        public SingleThreadContext()
        {
            Thread = new Thread(() =>
            {
                SetSynchronizationContext(this);
                foreach (var (callback, state) in _queue.GetConsumingEnumerable())
                {
                    callback(state);
                }
            }) { IsBackground = true };
            Thread.Start();
        }

        public Thread Thread { get; }

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            _queue.Add((d, state));
        }

        public void Dispose() => _queue.CompleteAdding();
    }
}
