using System.Net;

namespace IocpHybrid.Tests;

public sealed class TcpConcurrencyTests : SocketTestBase
{
    private const int Connections = 1000;

    [Fact]
    public async Task AThousandConcurrentEchoConnectionsThroughOnePort()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0), backlog: 1024);
        IPEndPoint target = listener.LocalEndPoint;

        async Task ServeAsync()
        {
            var echoes = new List<Task>();
            for (int i = 0; i < Connections; i++)
            {
                PortTcpConnection connection = await listener.AcceptAsync().ConfigureAwait(false);
                echoes.Add(EchoAsync(connection));
            }

            await Task.WhenAll(echoes).ConfigureAwait(false);
        }

        static async Task EchoAsync(PortTcpConnection connection)
        {
            using (connection)
            {
                connection.NoDelay = true;
                var buffer = new byte[8192];
                int n;
                while ((n = await connection.ReceiveAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
                {
                    await connection.SendAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                }
            }
        }

        async Task ClientAsync(int index)
        {
            using PortTcpConnection client = await PortTcpConnection.ConnectAsync(Port, target).ConfigureAwait(false);
            for (int round = 0; round < 3; round++)
            {
                byte[] message = TestSupport.RandomBytes(1 + ((index * 37 + round * 1013) % 20_000), seed: index * 10 + round);
                Task send = client.SendAsync(message.AsMemory()).AsTask();
                var echoed = new byte[message.Length];
                int total = 0;
                while (total < echoed.Length)
                {
                    int n = await client.ReceiveAsync(echoed.AsMemory(total)).ConfigureAwait(false);
                    Assert.True(n > 0);
                    total += n;
                }

                await send.ConfigureAwait(false);
                Assert.Equal(message, echoed);
            }
        }

        Task server = ServeAsync();
        var clients = new Task[Connections];
        for (int i = 0; i < Connections; i++)
        {
            clients[i] = ClientAsync(i);
        }

        await Task.WhenAll(clients).Within(TimeSpan.FromMinutes(3));
        await server.Within(TimeSpan.FromMinutes(1));
    }
}
