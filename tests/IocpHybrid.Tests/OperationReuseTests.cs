namespace IocpHybrid.Tests;

/// <summary>
/// A pooled operation serves one use after another: a <see cref="ValueTask"/> kept from an earlier use
/// (awaited twice: a misuse) must be refused without touching the use in progress.
/// </summary>
public sealed class OperationReuseTests
{
    [Fact]
    public async Task AStaleAwaiterIsRefusedAndLeavesTheLiveContinuationAlone()
    {
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
        using PortPipe pipe = port.CreatePipe();

        ValueTask<long> post = port.PostAsync(key: 1, value: 5);
        ValueTask<long> stale = post; // the same source and token, kept after the await consumed it
        Assert.Equal(5, await post.Within());
        int objects = port.OperationObjectCount;

        // The next operation takes the same pooled object; its awaiter registers first.
        var buffer = new byte[1];
        Task<int> reading = pipe.Reader.ReadAsync(buffer).AsTask();
        Assert.Equal(objects, port.OperationObjectCount);

        bool staleRan = false;
        Assert.Throws<InvalidOperationException>(() => stale.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => staleRan = true));

        await pipe.Writer.WriteAsync(new byte[] { 7 }).Within();
        Assert.Equal(1, await reading.Within());
        Assert.Equal(7, buffer[0]);
        Assert.False(staleRan, "the stale awaiter's continuation ran in place of the live one");
    }

    [Fact]
    public async Task ASecondAwaiterOfOneUseIsRefusedAndLeavesTheFirstAlone()
    {
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
        using PortPipe pipe = port.CreatePipe();
        var buffer = new byte[1];
        ValueTask<int> read = pipe.Reader.ReadAsync(buffer);
        Task<int> first = read.AsTask();

        bool secondRan = false;
        Assert.Throws<InvalidOperationException>(() => read.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(() => secondRan = true));

        await pipe.Writer.WriteAsync(new byte[] { 9 }).Within();
        Assert.Equal(1, await first.Within());
        Assert.False(secondRan, "the second awaiter's continuation ran in place of the first");
    }
}
