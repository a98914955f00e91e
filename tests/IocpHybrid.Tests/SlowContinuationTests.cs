namespace IocpHybrid.Tests;

/// <summary>
/// A slow continuation: the first continuations sleep 200 ms each (inline, that holds the port's
/// worker thread) while writes and posts keep arriving. No completion is lost or delivered twice, the
/// bytes of each pipe arrive in order, nothing deadlocks, and the statistics go back to zero.
/// </summary>
public sealed class SlowContinuationTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SlowContinuationsLoseNothingAndKeepEachPipeInOrder(bool inline)
    {
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = inline, WorkerThreads = 1, QueueDepth = 8 });
        const int pipes = 4, chunks = 64, chunk = 16, posts = 2000;
        var streams = new byte[pipes][];
        var pipeList = new PortPipe[pipes];
        for (int p = 0; p < pipes; p++)
        {
            streams[p] = TestSupport.RandomBytes(chunks * chunk, p + 1);
            pipeList[p] = port.CreatePipe();
        }

        int slowLeft = 4;
        var readers = new Task<byte[]>[pipes];
        for (int p = 0; p < pipes; p++)
        {
            readers[p] = ReadAll(pipeList[p], streams[p].Length);
        }

        var seen = new int[posts];
        Task posting = Task.Run(async () =>
        {
            var pending = new Task[posts];
            for (int i = 0; i < posts; i++)
            {
                pending[i] = Post(i);
            }

            await Task.WhenAll(pending);
        });
        Task writing = Task.Run(async () =>
        {
            for (int c = 0; c < chunks; c++)
            {
                for (int p = 0; p < pipes; p++)
                {
                    int n = await pipeList[p].Writer.WriteAsync(streams[p].AsMemory(c * chunk, chunk));
                    Assert.Equal(chunk, n);
                }
            }
        });

        await Task.WhenAll(posting, writing).Within();
        for (int p = 0; p < pipes; p++)
        {
            Assert.Equal(streams[p], await readers[p].Within());
        }

        Assert.All(seen, n => Assert.Equal(1, n));
        foreach (PortPipe pipe in pipeList)
        {
            pipe.Dispose();
        }

        await TestSupport.Eventually(
            () =>
            {
                PortStatistics s = port.GetStatistics();
                return s.OperationsInFlight == 0 && s.HandlesOpen == 0;
            },
            "no operation in flight and no handle open");

        async Task Post(int i)
        {
            long value = await port.PostAsync(3, i);
            Interlocked.Increment(ref seen[(int)value]);
            SlowDown();
        }

        async Task<byte[]> ReadAll(PortPipe pipe, int length)
        {
            var received = new byte[length];
            int got = 0;
            while (got < length)
            {
                int n = await pipe.Reader.ReadAsync(received.AsMemory(got));
                Assert.True(n > 0, "the pipe ended early");
                got += n;
                SlowDown();
            }

            return received;
        }

        void SlowDown()
        {
            // What user code that takes its time does after an await (inline: on the port's worker).
            if (Volatile.Read(ref slowLeft) > 0 && Interlocked.Decrement(ref slowLeft) >= 0)
            {
                Thread.Sleep(200);
            }
        }
    }
}
