namespace IocpHybrid.Tests;

/// <summary>
/// Awaiting code that throws after a completion: the exception belongs to the awaiting method's task
/// (as with any awaitable), never to the port. The port, its workers and the process carry on and later
/// operations complete, with continuations on the thread pool and with inline completions, where the
/// throwing code runs on the port's own worker thread (an exception escaping that loop would end the
/// process: CompletionPort.Callback.cs fails fast on it).
/// </summary>
public sealed class ContinuationExceptionTests
{
    private sealed class UserException(int index) : Exception($"user code {index} threw")
    {
        public int Index { get; } = index;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ContinuationsThatThrowFaultTheirOwnTasksAndThePortCarriesOn(bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline, WorkerThreads = 2 });
        using PortPipe pipe = port.CreatePipe();
        const int count = 300;
        var throwing = new Task[count];
        for (int i = 0; i < count; i++)
        {
            throwing[i] = i % 3 == 0 ? ThrowAfterPost(port, i) : i % 3 == 1 ? ThrowAfterPostValueTask(port, i).AsTask() : ThrowAfterRead(pipe, i);
        }

        for (int i = 0; i < count; i++)
        {
            if (i % 3 == 2)
            {
                await pipe.Writer.WriteAsync(new byte[] { (byte)i }).Within();
            }
        }

        for (int i = 0; i < count; i++)
        {
            UserException ex = await Assert.ThrowsAsync<UserException>(() => throwing[i].Within());
            Assert.Equal(i, ex.Index);
        }

        // Later operations still complete, on the same port and the same pipe.
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(i, await port.PostAsync(9, i).Within());
        }

        var buffer = new byte[4];
        ValueTask<int> read = pipe.Reader.ReadAsync(buffer);
        await pipe.Writer.WriteAsync(new byte[] { 42 }).Within();
        Assert.Equal(1, await read.Within());
        Assert.Equal(42, buffer[0]);
        await TestSupport.Eventually(() => port.GetStatistics().OperationsInFlight == 0, "no operation in flight");

        static async Task ThrowAfterPost(CompletionPort port, int index)
        {
            await port.PostAsync(1, index);
            throw new UserException(index);
        }

        static async ValueTask ThrowAfterPostValueTask(CompletionPort port, int index)
        {
            await port.PostAsync(2, index);
            throw new UserException(index);
        }

        static async Task ThrowAfterRead(PortPipe pipe, int index)
        {
            var one = new byte[1];
            int n = await pipe.Reader.ReadAsync(one);
            Assert.Equal(1, n);
            throw new UserException(index);
        }
    }
}
