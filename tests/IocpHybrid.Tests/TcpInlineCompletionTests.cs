using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

/// <summary>Sockets on a port whose continuations run on its own workers (what EchoServer --inline uses).</summary>
public sealed class TcpInlineCompletionTests : SocketTestBase
{
    public TcpInlineCompletionTests()
        : base(new CompletionPortOptions { InlineCompletions = true })
    {
    }

    [Fact]
    public async Task EchoWithInlineContinuations()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));

        async Task ServeAsync()
        {
            var echoes = new List<Task>();
            for (int i = 0; i < 50; i++)
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
                var buffer = new byte[4096];
                int n;
                while ((n = await connection.ReceiveAsync(buffer.AsMemory()).ConfigureAwait(false)) > 0)
                {
                    await connection.SendAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
                }
            }
        }

        Task server = ServeAsync();
        var clients = Enumerable.Range(0, 50).Select(async i =>
        {
            using var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
            await client.ConnectAsync(listener.LocalEndPoint).ConfigureAwait(false);
            byte[] message = TestSupport.RandomBytes(1 + i * 997, seed: i);
            NetworkStream stream = client.GetStream();
            await stream.WriteAsync(message).ConfigureAwait(false);
            var echoed = new byte[message.Length];
            await stream.ReadExactlyAsync(echoed).ConfigureAwait(false);
            Assert.Equal(message, echoed);
        }).ToArray();

        await Task.WhenAll(clients).Within();
        await server.Within();
    }
}
