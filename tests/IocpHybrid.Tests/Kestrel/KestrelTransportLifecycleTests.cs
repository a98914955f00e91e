using System.Net;
using System.Net.Sockets;
using System.Text;
using IocpHybrid.AspNetCore;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IocpHybrid.Tests.Kestrel;

/// <summary>Clients that abort, a graceful shutdown with requests in flight, Kestrel's connection limit, endpoints the transport leaves to others.</summary>
public sealed class KestrelTransportLifecycleTests
{
    [Fact]
    public async Task AClientThatAbortsMidBodyEndsThatRequestAndNothingElse()
    {
        await using KestrelOnPort server = await KestrelOnPort.StartAsync();
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Address.Port)).Within();
            await socket.SendAsync(Encoding.ASCII.GetBytes("POST /hash HTTP/1.1\r\nHost: test\r\nContent-Length: 10485760\r\n\r\n")).Within();
            await socket.SendAsync(new byte[1024 * 1024]).Within();

            // Reset once the server reads the body (not while the connection waits in the backlog).
            await TestSupport.Eventually(() => server.BodiesStarted == 1, "the server reading the body");
            socket.LingerState = new LingerOption(true, 0); // a reset, as a crashed client sends
        }

        await TestSupport.Eventually(() => { lock (server.BodyErrors) { return server.BodyErrors.Count == 1; } }, "the request body failing on the server");
        Exception error;
        lock (server.BodyErrors)
        {
            error = server.BodyErrors[0];
        }

        Assert.True(error is IOException or ConnectionResetException or OperationCanceledException or Microsoft.AspNetCore.Http.BadHttpRequestException, $"the aborted body threw {error}");

        // The server goes on serving, and the aborted connection leaves nothing open: the listener alone.
        using var client = new HttpClient { BaseAddress = server.Address };
        Assert.Equal(KestrelOnPort.Hello, await client.GetByteArrayAsync("/plain").Within());
        client.Dispose();
        await TestSupport.Eventually(() => server.Factory.Port!.GetStatistics().HandlesOpen == 1, "only the listener open");
    }

    [Fact]
    public async Task AGracefulStopFinishesRequestsInFlightAndRefusesNewConnections()
    {
        KestrelOnPort server = await KestrelOnPort.StartAsync(kestrel: o => { });
        await using (server)
        {
            using var client = new HttpClient { BaseAddress = server.Address };
            Task<string> inFlight = client.GetStringAsync("/hold");
            await TestSupport.Eventually(() => server.Held == 1, "the request in flight");

            Task stopping = server.StopAsync();
            await TestSupport.Eventually(() => !CanConnect(server.Address.Port), "the listener closed");
            Assert.False(stopping.IsCompleted, "the stop finished with a request in flight");

            server.Release.SetResult();
            Assert.Equal("released", await inFlight.Within());
            await stopping.Within();
        }
    }

    [Fact]
    public async Task KestrelsConnectionLimitHolds()
    {
        await using KestrelOnPort server = await KestrelOnPort.StartAsync(kestrel: o => o.Limits.MaxConcurrentConnections = 2);
        var held = new List<Socket>();
        try
        {
            // Two connections with a request each, held open at /hold.
            for (int i = 0; i < 2; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                held.Add(socket);
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Address.Port)).Within();
                await socket.SendAsync(Encoding.ASCII.GetBytes("GET /hold HTTP/1.1\r\nHost: test\r\n\r\n")).Within();
            }

            await TestSupport.Eventually(() => server.Held == 2, "two requests held");

            // A third is accepted by the transport and closed by Kestrel without an answer.
            using (var third = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                await third.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Address.Port)).Within();
                try
                {
                    await third.SendAsync(Encoding.ASCII.GetBytes("GET /plain HTTP/1.1\r\nHost: test\r\n\r\n")).Within();
                    Assert.Equal(0, await third.ReceiveAsync(new byte[256]).Within());
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
                {
                    // Closed with the request unread: a reset, also a refusal.
                }
            }

            // The two held ones still get their answers.
            server.Release.SetResult();
            foreach (Socket socket in held)
            {
                var buffer = new byte[1024];
                int n = await socket.ReceiveAsync(buffer).Within();
                Assert.StartsWith("HTTP/1.1 200 OK", Encoding.ASCII.GetString(buffer, 0, n), StringComparison.Ordinal);
            }
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task LeavesEndpointsOtherThanIpToAnotherTransport()
    {
        await using var factory = new IocpHybridTransportFactory(Options.Create(new IocpHybridTransportOptions()), NullLoggerFactory.Instance);
        Assert.True(factory.CanBind(new IPEndPoint(IPAddress.Loopback, 0)));
        Assert.False(factory.CanBind(new NamedPipeEndPoint("iocphybrid-never-bound")));
        Assert.False(factory.CanBind(new DnsEndPoint("localhost", 80)));
        await Assert.ThrowsAsync<NotSupportedException>(() => factory.BindAsync(new NamedPipeEndPoint("iocphybrid-never-bound")).AsTask());
        await Assert.ThrowsAsync<ArgumentNullException>(() => factory.BindAsync(null!).AsTask());

        // An endpoint in use is Kestrel's AddressInUseException.
        await using IConnectionListener first = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0));
        await Assert.ThrowsAsync<AddressInUseException>(() => factory.BindAsync(first.EndPoint).AsTask());
    }

    [Fact]
    public void BadOptionsAreRefused()
    {
        var options = new IocpHybridTransportOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Backlog = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxReadBufferSize = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MaxWriteBufferSize = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.WorkerThreads = -1);
    }

    private static bool CanConnect(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
