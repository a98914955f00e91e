namespace IocpHybrid.Tests;

public sealed class CompletionPortTests
{
    [Fact]
    public async Task DefaultPortUsesThePlatformBackend()
    {
        await using var port = new CompletionPort();
        Assert.Equal(TestSupport.ExpectedDefaultBackend(), port.Backend);
        Assert.Equal(port.Backend switch
        {
            CompletionPortBackend.Iocp => "iocp",
            CompletionPortBackend.IoUring => "io_uring",
            _ => "epoll",
        }, port.BackendName);
        Assert.False(port.InlineCompletions);
    }

    /// <summary>
    /// Where io_uring is refused (the build runs this suite once more under a seccomp filter that makes
    /// io_uring_setup fail with EPERM, and says what it expects through IOCPH_TEST_EXPECT_*), the default port
    /// runs on epoll and says why; elsewhere the reason matches what the probe says of io_uring.
    /// </summary>
    [Fact]
    public async Task DefaultPortSaysWhyItRunsWhereItRuns()
    {
        await using var port = new CompletionPort();
        Assert.False(string.IsNullOrWhiteSpace(port.BackendReasonMessage));
        string? expectBackend = Environment.GetEnvironmentVariable("IOCPH_TEST_EXPECT_BACKEND");
        string? expectReason = Environment.GetEnvironmentVariable("IOCPH_TEST_EXPECT_REASON");
        if (expectBackend is not null)
        {
            Assert.Equal(expectBackend, port.BackendName);
        }

        if (expectReason is not null)
        {
            Assert.Equal(expectReason, port.BackendReason.ToString());
            Assert.Contains("seccomp", port.BackendReasonMessage, StringComparison.Ordinal);
        }

        if (Environment.GetEnvironmentVariable("IOCPH_BACKEND") is "iocp" or "io_uring" or "epoll")
        {
            Assert.Equal(CompletionPortBackendReason.Forced, port.BackendReason);
        }
        else if (OperatingSystem.IsLinux())
        {
            bool uring = CompletionPort.IsBackendAvailable(CompletionPortBackend.IoUring, out CompletionPortBackendReason why);
            Assert.Equal(uring ? CompletionPortBackend.IoUring : CompletionPortBackend.Epoll, port.Backend);
            Assert.Equal(uring ? CompletionPortBackendReason.None : why, port.BackendReason);
        }
        else
        {
            Assert.Equal(CompletionPortBackendReason.None, port.BackendReason);
        }
    }

    [Fact]
    public async Task EveryBackendOfThisSystemCanBeNamedAndReportsForced()
    {
        CompletionPortBackend[] ours = OperatingSystem.IsWindows()
            ? [CompletionPortBackend.Iocp]
            : [CompletionPortBackend.IoUring, CompletionPortBackend.Epoll];
        foreach (CompletionPortBackend backend in ours)
        {
            if (!CompletionPort.IsBackendAvailable(backend, out CompletionPortBackendReason why))
            {
                // Refused here: naming it must fail with a message that says why and how to get out.
                var e = Assert.Throws<PlatformNotSupportedException>(() => new CompletionPort(new CompletionPortOptions { Backend = backend }));
                Assert.Contains(why == CompletionPortBackendReason.IoUringBlocked ? "seccomp" : "io_uring", e.Message, StringComparison.Ordinal);
                Assert.Contains("epoll", e.Message, StringComparison.Ordinal);
                continue;
            }

            await using var port = new CompletionPort(new CompletionPortOptions { Backend = backend });
            Assert.Equal(backend, port.Backend);
            Assert.Equal(CompletionPortBackendReason.Forced, port.BackendReason);
            Assert.Equal(42L, await port.PostAsync(1, 42).Within());
        }

        Assert.False(CompletionPort.IsBackendAvailable(TestSupport.ForeignBackend(), out CompletionPortBackendReason foreign));
        Assert.Equal(CompletionPortBackendReason.NotThisOperatingSystem, foreign);
        Assert.True(CompletionPort.IsBackendAvailable(CompletionPortBackend.Default, out _));
    }

    [Fact]
    public void NativeVersionIsTheHeaderVersion()
    {
        var header = new Version(Interop.NativeMethods.IOCPH_VERSION_MAJOR, Interop.NativeMethods.IOCPH_VERSION_MINOR,
            Interop.NativeMethods.IOCPH_VERSION_PATCH);
        Assert.Equal(header, CompletionPort.NativeVersion);
        // The assembly's version is derived from the same header lines (Directory.Build.props).
        Version assembly = typeof(CompletionPort).Assembly.GetName().Version!;
        Assert.Equal(header, new Version(assembly.Major, assembly.Minor, assembly.Build));
    }

    /// <summary>A native library of another version is refused, and the message names both versions.</summary>
    [Fact]
    public void NativeVersionMismatchIsRefused()
    {
        NativeVersionCheck.Verify(0x000100, 0x000100);
        var e = Assert.Throws<InvalidOperationException>(() => NativeVersionCheck.Verify(0x000203, 0x010000));
        Assert.Contains("version 1.0.0", e.Message);
        Assert.Contains("version 0.2.3", e.Message);
    }

    [Fact]
    public void ForeignBackendIsNotSupported()
    {
        var options = new CompletionPortOptions { Backend = TestSupport.ForeignBackend() };
        Assert.Throws<PlatformNotSupportedException>(() => new CompletionPort(options));
    }

    [Fact]
    public void BadOptionsThrowBeforeNativeIsCalled()
    {
        Assert.Throws<ArgumentNullException>(() => new CompletionPort(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompletionPort(new CompletionPortOptions { WorkerThreads = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompletionPort(new CompletionPortOptions { Concurrency = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompletionPort(new CompletionPortOptions { QueueDepth = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompletionPort(new CompletionPortOptions { MaxBatch = -1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompletionPort(new CompletionPortOptions { MaxBatch = CompletionPortOptions.MaxBatchLimit + 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompletionPort(new CompletionPortOptions { Backend = (CompletionPortBackend)42 }));
    }

    [Fact]
    public async Task OptionsReachTheNativePort()
    {
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 3, Concurrency = 2, QueueDepth = 16, MaxBatch = 1 });
        Assert.Equal(3, port.GetStatistics().WorkerThreads);

        // MaxBatch = 1: every completion is its own batch.
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(i, await port.PostAsync(7, i).Within());
        }

        PortStatistics stats = port.GetStatistics();
        Assert.Equal(stats.CompletionsDelivered, stats.CallbackBatches);
    }

    [Fact]
    public async Task PostRoundTripReturnsTheValue()
    {
        await using var port = new CompletionPort();
        Assert.Equal(42L, await port.PostAsync(1, 42).Within());
        Assert.Equal(long.MinValue, await port.PostAsync(ulong.MaxValue, long.MinValue).Within());
        Assert.Equal(-20005L, await port.PostAsync(0, -20005).Within()); // a posted value is never an error code
    }

    [Fact]
    public async Task ManyConcurrentPostsEachArriveOnceWithTheirValue()
    {
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 2 });
        const int count = 5000;
        var tasks = new Task<long>[count];
        for (int i = 0; i < count; i++)
        {
            tasks[i] = port.PostAsync((ulong)i, i * 3L).AsTask();
        }

        long[] values = await Task.WhenAll(tasks).Within();
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(i * 3L, values[i]);
        }

        PortStatistics stats = port.GetStatistics();
        Assert.True(stats.OperationsStarted >= count, stats.ToString());
        Assert.True(stats.CompletionsDelivered >= count, stats.ToString());
        Assert.True(stats.CallbackBatches >= 1 && stats.CallbackBatches <= stats.CompletionsDelivered, stats.ToString());
        await TestSupport.Eventually(() => port.GetStatistics().OperationsInFlight == 0, "no operation in flight");
    }

    [Fact]
    public async Task PostWithCancelledTokenDoesNotPost()
    {
        await using var port = new CompletionPort();
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        long started = port.GetStatistics().OperationsStarted;
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => port.PostAsync(1, 2, cts.Token).AsTask());
        Assert.Equal(cts.Token, ex.CancellationToken);
        Assert.Equal(started, port.GetStatistics().OperationsStarted);
    }

    [Fact]
    public async Task DisposedPortRefusesEverything()
    {
        var port = new CompletionPort();
        await port.DisposeAsync().Within();
        await port.DisposeAsync().Within(); // twice is fine
        port.Dispose();                     // and synchronously too

        Assert.Throws<ObjectDisposedException>(() => port.GetStatistics());
        Assert.Throws<ObjectDisposedException>(() => port.PostAsync(1, 1));
        Assert.Throws<ObjectDisposedException>(() => port.CreatePipe());
        Assert.Throws<ObjectDisposedException>(() => port.OpenFile("x", FileMode.OpenOrCreate, FileAccess.ReadWrite));
    }

    [Fact]
    public void SynchronousDisposeWorks()
    {
        var port = new CompletionPort();
        using (var pipe = port.CreatePipe())
        {
        }

        port.Dispose();
        port.Dispose();
        Assert.Throws<ObjectDisposedException>(() => port.GetStatistics());
    }

    [Fact]
    public async Task StatisticsCountHandlesAndOperations()
    {
        using var dir = new TempDirectory();
        await using var port = new CompletionPort();
        PortStatistics before = port.GetStatistics();
        Assert.Equal(0, before.HandlesOpen);
        Assert.Equal(0, before.OperationsInFlight);
        Assert.True(before.WorkerThreads >= 1);

        var file = port.OpenFile(dir.File("stats.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        var pipe = port.CreatePipe();
        Assert.Equal(3, port.GetStatistics().HandlesOpen);

        Assert.Equal(4, await file.WriteAsync(new byte[] { 1, 2, 3, 4 }, 0).Within());
        Assert.Equal(1, await pipe.Writer.WriteAsync(new byte[] { 9 }).Within());
        var one = new byte[1];
        Assert.Equal(1, await pipe.Reader.ReadAsync(one).Within());

        file.Dispose();
        pipe.Dispose();
        await TestSupport.Eventually(() => port.GetStatistics() is { OperationsInFlight: 0, HandlesOpen: 0 }, "ops_in_flight 0 and handles_open 0");
        PortStatistics after = port.GetStatistics();
        Assert.True(after.OperationsStarted - before.OperationsStarted >= 3, after.ToString());
        Assert.True(after.CompletionsDelivered - before.CompletionsDelivered >= 3, after.ToString());
    }

    [Fact]
    public async Task OperationObjectsArePooled()
    {
        using var dir = new TempDirectory();
        await using var port = new CompletionPort();
        using var file = port.OpenFile(dir.File("pool.bin"), FileMode.CreateNew, FileAccess.ReadWrite);
        var buffer = new byte[512];
        for (int i = 0; i < 500; i++)
        {
            await file.WriteAsync(buffer, i * 512L).Within();
            await port.PostAsync(1, i).Within();
        }

        // One operation at a time: the same pooled object serves every one of them.
        Assert.True(port.OperationObjectCount <= 2, $"{port.OperationObjectCount} operation objects for sequential operations");
    }

    [Fact]
    public async Task DefaultContinuationsRunOnTheThreadPool()
    {
        await using var port = new CompletionPort();
        await AssertContinuationThread(port, expectThreadPool: true);
    }

    [Fact]
    public async Task InlineContinuationsRunOnThePortWorker()
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = true });
        Assert.True(port.InlineCompletions);
        await AssertContinuationThread(port, expectThreadPool: false);
    }

    private static async Task AssertContinuationThread(CompletionPort port, bool expectThreadPool)
    {
        // Awaited directly (no WaitAsync wrapper) so the continuation is the one the port schedules.
        var task = ContinuationIsThreadPool(port);
        Assert.Equal(expectThreadPool, await task.WaitAsync(TestSupport.StepTimeout));
    }

    private static async Task<bool> ContinuationIsThreadPool(CompletionPort port)
    {
        using var pipe = port.CreatePipe();
        var buffer = new byte[4];
        ValueTask<int> read = pipe.Reader.ReadAsync(buffer);
        _ = Task.Run(async () =>
        {
            await Task.Delay(50);
            await pipe.Writer.WriteAsync(new byte[] { 1 });
        });
        Assert.Equal(1, await read.ConfigureAwait(false));
        return Thread.CurrentThread.IsThreadPoolThread;
    }

    [Fact]
    public async Task DisposeAsyncFromAnInlineContinuationWorks()
    {
        var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = true });
        var pipe = port.CreatePipe();

        async Task<bool> Run()
        {
            ValueTask<int> read = pipe.Reader.ReadAsync(new byte[4]);
            _ = Task.Run(async () =>
            {
                await Task.Delay(50);
                await pipe.Writer.WriteAsync(new byte[] { 1 });
            });
            await read.ConfigureAwait(false);

            // Now on the port's worker thread, inside its completion callback.
            bool onWorker = !Thread.CurrentThread.IsThreadPoolThread;
            Assert.Throws<InvalidOperationException>(() => port.Dispose());
            await port.DisposeAsync().ConfigureAwait(false);
            return onWorker;
        }

        Assert.True(await Run().Within());
        Assert.Throws<ObjectDisposedException>(() => port.GetStatistics());
    }
}
