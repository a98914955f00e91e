using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;

namespace IocpHybrid.Tests;

/// <summary>
/// Where a <see cref="PortDuplexPipe"/> without inline scheduling runs the application: on the thread
/// pool, never on a port worker, and so that an application that blocks its thread (Kestrel's
/// synchronous I/O) does not stop its own connection or the others.
/// </summary>
public sealed class PortDuplexPipeSchedulingTests : SocketTestBase
{
    [Fact]
    public async Task TheApplicationRunsOnThePoolAndNeverOnAPortWorker()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            await using var pipe = new PortDuplexPipe(server);
            for (int i = 0; i < 20; i++)
            {
                Task<(bool OnPool, bool OnWorker)> reading = WhereTheReadResumesAsync(pipe);
                await client.SendAsync(new byte[] { (byte)i }).Within();
                (bool onPool, bool onWorker) = await reading.Within();
                Assert.True(onPool, "the application's read resumed off the thread pool");
                Assert.False(onWorker, "the application's read resumed on a port worker");
            }
        }
    }

    [Fact]
    public async Task AnApplicationThatWaitsForItsOwnFlushOnItsThreadIsNotDeadlocked()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        {
            // A response far above the output's threshold: its flushes wait for the send loop.
            await using var pipe = new PortDuplexPipe(server, new PortDuplexPipeOptions { MaxWriteBufferSize = 64 * 1024 });
            byte[] response = RandomNumberGenerator.GetBytes(4 * 1024 * 1024);
            Task responding = RespondWithBlockingFlushesAsync(pipe, response);
            await client.SendAsync("go"u8.ToArray()).Within();

            var received = new byte[response.Length];
            await ReceiveExactlyAsync(client, received);
            Assert.Equal(SHA256.HashData(response), SHA256.HashData(received));
            await responding.Within();
        }
    }

    [Fact]
    public async Task ConnectionsWhoseApplicationsWaitForEachOtherAllGetTheirTurn()
    {
        const int count = 6;
        var pairs = new List<(PortTcpListener Listener, PortTcpConnection Client, PortDuplexPipe Pipe)>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                var (listener, client, server) = await ConnectPairAsync();
                pairs.Add((listener, client, new PortDuplexPipe(server)));
            }

            // Each application, once its request is in, blocks its thread until every other one has
            // seen its request too: only possible if none of them waits behind another's blocked thread.
            using var allArrived = new CountdownEvent(count);
            Task<bool>[] applications = pairs.Select(p => WaitForAllAsync(p.Pipe, allArrived)).ToArray();
            await Task.WhenAll(pairs.Select(p => p.Client.SendAsync(new byte[] { 1 }))).Within();
            bool[] met = await Task.WhenAll(applications).Within(TimeSpan.FromSeconds(60));
            Assert.All(met, Assert.True);
        }
        finally
        {
            foreach (var (listener, client, pipe) in pairs)
            {
                await pipe.DisposeAsync();
                client.Dispose();
                listener.Dispose();
            }
        }
    }

    private static async Task<(bool OnPool, bool OnWorker)> WhereTheReadResumesAsync(PortDuplexPipe pipe)
    {
        ReadResult result = await pipe.Input.ReadAsync();
        (bool, bool) where = (Thread.CurrentThread.IsThreadPoolThread, pipe.Connection.Port.IsCurrentThreadWorker);
        pipe.Input.AdvanceTo(result.Buffer.End);
        return where;
    }

    private static async Task RespondWithBlockingFlushesAsync(PortDuplexPipe pipe, byte[] response)
    {
        ReadResult request = await pipe.Input.ReadAsync();
        pipe.Input.AdvanceTo(request.Buffer.End);

        // Kestrel's synchronous writes (AllowSynchronousIO) wait like this, on the thread the
        // application's read resumed on.
        for (int offset = 0; offset < response.Length; offset += 256 * 1024)
        {
            pipe.Output.Write(response.AsSpan(offset, 256 * 1024));
            FlushResult flushed = pipe.Output.FlushAsync().AsTask().GetAwaiter().GetResult();
            Assert.False(flushed.IsCanceled || flushed.IsCompleted);
        }
    }

    private static async Task<bool> WaitForAllAsync(PortDuplexPipe pipe, CountdownEvent allArrived)
    {
        ReadResult request = await pipe.Input.ReadAsync();
        pipe.Input.AdvanceTo(request.Buffer.End);
        allArrived.Signal();
        return allArrived.Wait(TimeSpan.FromSeconds(30));
    }
}
