using System.Net;
using System.Net.Sockets;

namespace IocpHybrid.Tests;

/// <summary>System.Net.Sockets as the peer, both ways.</summary>
public sealed class SocketInteropTests : SocketTestBase
{
    [Fact]
    public async Task BclClientAgainstAnIocpHybridServer()
    {
        using var listener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        ValueTask<PortTcpConnection> accept = listener.AcceptAsync();
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(listener.LocalEndPoint).Within();
        using PortTcpConnection server = await accept.Within();
        Assert.Equal((IPEndPoint)client.Client.LocalEndPoint!, server.RemoteEndPoint);

        byte[] data = TestSupport.RandomBytes(200_000, seed: 11);
        Task<byte[]> receiving = ReceiveToEndAsync(server);
        await client.Client.SendAsync(data).Within();
        client.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(data, await receiving.Within());

        await server.SendAsync(data.AsMemory()).Within();
        server.Shutdown(SocketShutdown.Send);
        var back = new MemoryStream();
        var chunk = new byte[65536];
        int n;
        while ((n = await client.Client.ReceiveAsync(chunk.AsMemory()).Within()) > 0)
        {
            back.Write(chunk, 0, n);
        }
        Assert.Equal(data, back.ToArray());
    }

    [Fact]
    public async Task IocpHybridClientAgainstABclServer()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Task<Socket> accept = listener.AcceptSocketAsync();
        using PortTcpConnection client = await PortTcpConnection.ConnectAsync(Port, listener.LocalEndpoint).Within();
        using Socket server = await accept.Within();
        Assert.Equal((IPEndPoint)server.RemoteEndPoint!, client.LocalEndPoint);

        byte[] data = TestSupport.RandomBytes(300_000, seed: 12);
        Task<int> sending = client.SendAsync(data);
        var received = new byte[data.Length];
        int total = 0;
        while (total < received.Length)
        {
            int n = await server.ReceiveAsync(received.AsMemory(total)).Within();
            Assert.True(n > 0);
            total += n;
        }

        Assert.Equal(data.Length, await sending.Within());
        Assert.Equal(data, received);

        // The BCL side resets: our receive sees it.
        ValueTask<int> receive = client.ReceiveAsync(new byte[10].AsMemory());
        server.LingerState = new LingerOption(true, 0);
        server.Close();
        var ex = await Assert.ThrowsAsync<SocketException>(() => receive.AsTask().Within());
        Assert.True(ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted, ex.Message);
    }
}
