using System.Net.Sockets;

namespace IocpHybrid.Tests;

/// <summary>
/// A receive into an empty buffer waits for data without taking any, as <see cref="Socket"/>'s
/// zero-byte receive does (Kestrel's transport waits so before it rents a buffer).
/// </summary>
public sealed class TcpWaitForDataTests : SocketTestBase
{
    [Fact]
    public async Task WaitsUntilDataArrivesAndLeavesItForTheNextReceive()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            ValueTask<int> wait = server.ReceiveAsync(Memory<byte>.Empty);
            await Task.Delay(100);
            Assert.False(wait.IsCompleted, "a wait for data completed with nothing sent");

            await client.SendAsync("abc"u8.ToArray()).Within();
            Assert.Equal(0, await wait.AsTask().Within());

            var buffer = new byte[3];
            await ReceiveExactlyAsync(server, buffer);
            Assert.Equal("abc"u8.ToArray(), buffer);
        }
    }

    [Fact]
    public async Task CompletesAtOnceWhenDataIsAlreadyThere()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            await server.SendAsync("hello"u8.ToArray()).Within();
            Assert.Equal(0, await client.ReceiveAsync(Memory<byte>.Empty).AsTask().Within());
            Assert.Equal(0, await client.ReceiveAsync(Array.Empty<byte>()).Within());

            var buffer = new byte[5];
            await ReceiveExactlyAsync(client, buffer);
            Assert.Equal("hello"u8.ToArray(), buffer);
        }
    }

    [Fact]
    public async Task CompletesWhenThePeerClosesAndTheNextReceiveSaysEnd()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            ValueTask<int> wait = server.ReceiveAsync(Memory<byte>.Empty);
            client.Shutdown(SocketShutdown.Send);
            Assert.Equal(0, await wait.AsTask().Within());
            Assert.Equal(0, await server.ReceiveAsync(new byte[8]).Within());
        }
    }

    [Fact]
    public async Task AResetPeerEndsTheWaitWithTheReset()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (server)
        {
            ValueTask<int> wait = server.ReceiveAsync(Memory<byte>.Empty);
            await Task.Delay(50);
            client.LingerState = new LingerOption(true, 0);
            client.Dispose();
            var ex = await Assert.ThrowsAsync<SocketException>(() => wait.AsTask().Within());
            Assert.True(
                ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted,
                $"a wait on a reset connection threw {ex.SocketErrorCode}");
        }
    }

    [Fact]
    public async Task CancelledByTokenAndTimesOutAsAnyReceive()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            using var cts = new CancellationTokenSource();
            ValueTask<int> wait = server.ReceiveAsync(Memory<byte>.Empty, cts.Token);
            await Task.Delay(50);
            cts.Cancel();
            var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.AsTask().Within());
            Assert.Equal(cts.Token, cancelled.CancellationToken);

            server.ReceiveTimeout = 100;
            var timedOut = await Assert.ThrowsAsync<SocketException>(() => server.ReceiveAsync(Memory<byte>.Empty).AsTask().Within());
            Assert.Equal(SocketError.TimedOut, timedOut.SocketErrorCode);
        }
    }

    [Fact]
    public async Task AStreamReadOfNothingWaitsForData()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (client)
        using (server)
        {
            await using var stream = new PortNetworkStream(server, ownsConnection: false);
            ValueTask<int> wait = stream.ReadAsync(Memory<byte>.Empty);
            await Task.Delay(50);
            Assert.False(wait.IsCompleted, "a zero-byte read completed with nothing sent");
            await client.SendAsync(new byte[] { 7 }).Within();
            Assert.Equal(0, await wait.AsTask().Within());
            var one = new byte[1];
            Assert.Equal(1, await stream.ReadAsync(one).AsTask().Within());
            Assert.Equal(7, one[0]);
        }
    }
}
