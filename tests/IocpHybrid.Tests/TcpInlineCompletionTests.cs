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
    public async Task AnAcceptLoopOnTheWorkerTakesWaitingConnectionsAtOnce()
    {
        // An inline server's accept loop runs on the port's worker. Accepts that went through the
        // port from there would take one connection per worker loop, and a loop is as long as every
        // other connection's callbacks: a burst of new connections then waits for seconds, its first
        // requests unread. Waiting connections must be taken inside the call (IOCP declines: AcceptEx).
        // One worker: the accepts start on the worker that owns the listener.
        await using var port = new CompletionPort(new CompletionPortOptions { InlineCompletions = true, WorkerThreads = 1 });
        using var listener = port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        var clients = new List<TcpClient>();
        for (int i = 0; i < 5; i++)
        {
            var client = new TcpClient(AddressFamily.InterNetwork);
            await client.ConnectAsync(listener.LocalEndPoint).Within();
            clients.Add(client);
        }

        // Accepts started on the worker: after a post's completion, whose continuation runs there.
        async Task<(bool[] AtOnce, List<PortTcpConnection> Servers)> AcceptOnTheWorkerAsync()
        {
            await port.PostAsync(1, 0).ConfigureAwait(false);
            var accepts = new List<ValueTask<PortTcpConnection>>();
            for (int i = 0; i < clients.Count; i++)
            {
                accepts.Add(listener.AcceptAsync());
            }

            bool[] atOnce = accepts.Select(a => a.IsCompleted).ToArray();
            var accepted = new List<PortTcpConnection>();
            foreach (ValueTask<PortTcpConnection> accept in accepts)
            {
                accepted.Add(await accept.ConfigureAwait(false));
            }

            return (atOnce, accepted);
        }

        try
        {
            (bool[] atOnce, List<PortTcpConnection> servers) = await AcceptOnTheWorkerAsync().Within();
            try
            {
                if (TestSupport.AttemptsInTheCall)
                {
                    Assert.All(atOnce, Assert.True);
                }

                // Every client got its own working connection.
                Assert.Equal(
                    clients.Select(c => ((IPEndPoint)c.Client.LocalEndPoint!).Port).Order(),
                    servers.Select(s => s.RemoteEndPoint.Port).Order());
                foreach (PortTcpConnection server in servers)
                {
                    await server.SendAsync(new byte[] { 7 }).Within();
                }

                foreach (TcpClient client in clients)
                {
                    var buffer = new byte[1];
                    await client.GetStream().ReadExactlyAsync(buffer).Within();
                    Assert.Equal(7, buffer[0]);
                }
            }
            finally
            {
                servers.ForEach(s => s.Dispose());
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
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
