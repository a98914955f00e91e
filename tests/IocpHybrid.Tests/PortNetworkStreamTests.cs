using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IocpHybrid.Tests;

public sealed class PortNetworkStreamTests : SocketTestBase
{
    [Fact]
    public async Task StreamReaderAndWriterExchangeLines()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        {
            await using Stream clientStream = client.GetStream();
            await using Stream serverStream = server.GetStream();
            Assert.True(clientStream.CanRead && clientStream.CanWrite && !clientStream.CanSeek);

            using var writer = new StreamWriter(clientStream, new UTF8Encoding(false), leaveOpen: true) { AutoFlush = true };
            using var reader = new StreamReader(serverStream, Encoding.UTF8, leaveOpen: true);
            for (int i = 0; i < 100; i++)
            {
                await writer.WriteLineAsync($"line {i} ✓").Within();
            }

            client.Shutdown(SocketShutdown.Send);
            for (int i = 0; i < 100; i++)
            {
                Assert.Equal($"line {i} ✓", await reader.ReadLineAsync().Within());
            }

            Assert.Null(await reader.ReadLineAsync().Within());
        }

        Assert.True(client.IsClosed, "disposing the stream disposes the connection");
        Assert.True(server.IsClosed);
    }

    [Fact]
    public async Task CopyToAsyncMovesEverything()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        {
            byte[] data = TestSupport.RandomBytes(700_000, seed: 21);
            await using Stream clientStream = client.GetStream();
            await using Stream serverStream = server.GetStream();
            Task copy = Task.Run(async () =>
            {
                await new MemoryStream(data).CopyToAsync(clientStream).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);
            });

            var received = new MemoryStream();
            await serverStream.CopyToAsync(received).Within();
            await copy.Within();
            Assert.Equal(data, received.ToArray());

            // Synchronous members work too.
            serverStream.Write([1, 2, 3], 0, 3);
            var three = new byte[3];
            int total = 0;
            while (total < 3)
            {
                total += clientStream.Read(three, total, 3 - total);
            }

            Assert.Equal(new byte[] { 1, 2, 3 }, three);
        }
    }

    [Fact]
    public async Task ErrorsBecomeIOExceptionsAsForNetworkStream()
    {
        var (listener, client, server) = await ConnectPairAsync();
        using (listener)
        using (server)
        {
            await using var stream = new PortNetworkStream(client, ownsConnection: true);
            stream.ReadTimeout = 100;
            var ex = await Assert.ThrowsAsync<IOException>(() => stream.ReadAsync(new byte[10]).AsTask().Within());
            Assert.Equal(SocketError.TimedOut, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
        }
    }
}
