namespace IocpHybrid.Tests;

/// <summary>Disposing a port from several threads at once: nobody returns before the shutdown is over.</summary>
public sealed class ConcurrentDisposeTests
{
    private const int Rounds = 100;
    private const int Callers = 3;

    [Fact]
    public void EveryConcurrentDisposeReturnsOnlyAfterTheShutdown()
    {
        int early = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
            PortPipe pipe = port.CreatePipe();
            var buffer = new byte[1];
            ValueTask<int> pending = pipe.Reader.ReadAsync(buffer); // completes only through the shutdown

            int go = 0;
            var callers = new Thread[Callers];
            for (int i = 0; i < Callers; i++)
            {
                bool useAsync = (i + round) % 2 == 0;
                callers[i] = new Thread(() =>
                {
                    while (Volatile.Read(ref go) == 0)
                    {
                        Thread.SpinWait(1);
                    }

                    if (useAsync)
                    {
                        port.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    }
                    else
                    {
                        port.Dispose();
                    }

                    // The shutdown cancels every operation and delivers its completion before it ends.
                    if (!pending.IsCompleted)
                    {
                        Interlocked.Increment(ref early);
                    }
                });
                callers[i].Start();
            }

            Volatile.Write(ref go, 1);
            foreach (Thread caller in callers)
            {
                Assert.True(caller.Join(TestSupport.StepTimeout), "a Dispose call hung");
            }

            Assert.Throws<ObjectDisposedException>(() => pending.AsTask().GetAwaiter().GetResult());
            pipe.Dispose();
        }

        Assert.Equal(0, early);
    }
}
