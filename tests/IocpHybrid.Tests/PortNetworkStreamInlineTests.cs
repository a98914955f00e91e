namespace IocpHybrid.Tests;

/// <summary>
/// The stream's blocking members on a port whose continuations run on its one worker: there they would
/// wait for an operation only that worker can start, so they must refuse instead of hanging.
/// </summary>
public sealed class PortNetworkStreamInlineTests : SocketTestBase
{
    public PortNetworkStreamInlineTests()
        : base(new CompletionPortOptions { InlineCompletions = true, WorkerThreads = 1 })
    {
    }

    [Fact]
    public async Task BlockingReadAndWriteOnTheWorkerThrowInsteadOfDeadlocking()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            await using var stream = new PortNetworkStream(server, ownsConnection: true);
            var outcome = new TaskCompletionSource<(Exception? Read, Exception? Write)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var buffer = new byte[1];

            async Task OnTheWorkerAsync()
            {
                // Pending when started, so its continuation runs inline on the port's worker.
                Assert.Equal(1, await stream.ReadAsync(buffer).ConfigureAwait(false));
                Exception? read = Record.Exception(() => stream.Read(buffer, 0, 1));
                Exception? write = Record.Exception(() => stream.Write(buffer, 0, 1));
                outcome.SetResult((read, write));
            }

            Task onTheWorker = OnTheWorkerAsync();
            await client.SendAsync(new byte[] { 1 }).Within();
            (Exception? read, Exception? write) = await outcome.Task.Within();
            await onTheWorker.Within();
            Assert.IsType<InvalidOperationException>(read);
            Assert.IsType<InvalidOperationException>(write);

            // Off the worker the blocking members work as before.
            await client.SendAsync(new byte[] { 2 }).Within();
            Assert.Equal(1, await Task.Run(() => stream.Read(buffer, 0, 1)).Within());
            Assert.Equal(2, buffer[0]);
            await Task.Run(() => stream.Write(new byte[] { 3 }, 0, 1)).Within();
            Assert.Equal(1, await client.ReceiveAsync(buffer.AsMemory()).Within());
            Assert.Equal(3, buffer[0]);
        }
    }
}
