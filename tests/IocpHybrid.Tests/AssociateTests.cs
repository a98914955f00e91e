using System.IO.Pipes;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace IocpHybrid.Tests;

/// <summary>
/// Handles made by the BCL (File.OpenHandle, new Socket, Socket.Connect / Accept, anonymous pipes)
/// associated with a port: data both ways, the caller's object disposed right after the association
/// (the port owns its own duplicate), and what is refused, with the caller's object still usable.
/// </summary>
public sealed class AssociateTests : SocketTestBase
{
    private static readonly IPEndPoint AnyLoopback = new(IPAddress.Loopback, 0);

    [Fact]
    public async Task FileOpenedByTheBcl()
    {
        using var dir = new TempDirectory();
        string path = dir.File("data.bin");
        byte[] original = TestSupport.RandomBytes(100_000, seed: 51);
        File.WriteAllBytes(path, original);

        PortFile file;
        using (SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, FileOptions.Asynchronous))
        {
            file = Port.AssociateFile(handle);
        }

        using (file)
        {
            Assert.True(file.CanRead && file.CanWrite);
            byte[] read = new byte[original.Length];
            int total = 0;
            while (total < read.Length)
            {
                int n = await file.ReadAsync(read.AsMemory(total), total).Within();
                Assert.True(n > 0);
                total += n;
            }

            Assert.Equal(original, read);
            byte[] more = TestSupport.RandomBytes(5000, seed: 52);
            Assert.Equal(more.Length, await file.WriteAsync(more, original.Length).Within());
            await file.FlushAsync().Within();
        }

        byte[] expected = [.. original, .. TestSupport.RandomBytes(5000, seed: 52)];
        Assert.Equal(expected, File.ReadAllBytes(path));
    }

    [Fact]
    public async Task ConnectedSocketMadeByTheBcl()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(AnyLoopback);
        listener.Listen();
        PortTcpConnection connection;
        Socket peer;
        using (var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            client.Connect(listener.LocalEndPoint!);
            peer = listener.Accept();
            connection = Port.AssociateTcpConnection(client);
            Assert.Equal(client.LocalEndPoint, connection.LocalEndPoint);
        }

        using (peer)
        using (connection)
        {
            Assert.Equal(peer.LocalEndPoint, connection.RemoteEndPoint);
            await ExchangeAsync(connection, peer, seed: 53);
        }
    }

    [Fact]
    public async Task ListeningSocketMadeByTheBcl()
    {
        PortTcpListener listener;
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Bind(AnyLoopback);
            socket.Listen();
            listener = Port.AssociateTcpListener(socket);
        }

        using (listener)
        {
            ValueTask<PortTcpConnection> accepting = listener.AcceptAsync();
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.LocalEndPoint).Within();
            using PortTcpConnection server = await accepting.Within();
            await ExchangeAsync(server, client, seed: 54);
        }
    }

    [Fact]
    public async Task UdpSocketMadeByTheBcl()
    {
        PortUdpSocket udp;
        IPEndPoint local;
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            socket.Bind(AnyLoopback);
            local = (IPEndPoint)socket.LocalEndPoint!;
            udp = Port.AssociateUdp(socket);
        }

        using (udp)
        {
            using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            peer.Bind(AnyLoopback);
            var buffer = new byte[256];
            ValueTask<PortReceiveFromResult> receiving = udp.ReceiveFromAsync(buffer);
            await peer.SendToAsync(new byte[] { 1, 2, 3, 4 }, local).Within();
            PortReceiveFromResult got = await receiving.Within();
            Assert.Equal(4, got.ReceivedBytes);
            Assert.Equal(peer.LocalEndPoint, got.RemoteEndPoint);
            Assert.Equal(3, await udp.SendToAsync(new byte[] { 9, 8, 7 }, peer.LocalEndPoint!).Within());
            int n = await peer.ReceiveAsync(buffer).Within();
            Assert.Equal(new byte[] { 9, 8, 7 }, buffer[..n]);
        }
    }

    [Fact]
    public async Task AnonymousPipesMadeByTheBcl()
    {
        if (OperatingSystem.IsWindows())
        {
            // Windows' anonymous pipes are synchronous: no completion port can serve them.
            using var server = new AnonymousPipeServerStream(PipeDirection.In);
            ArgumentException e = Assert.Throws<ArgumentException>(() => Port.AssociatePipeReader(server.SafePipeHandle));
            Assert.Contains("synchronous", e.Message, StringComparison.Ordinal);
            return;
        }

        // The BCL writes, the port reads; then the BCL's writer closes: the port reads 0.
        using (var inbound = new AnonymousPipeServerStream(PipeDirection.In))
        using (var writer = new AnonymousPipeClientStream(PipeDirection.Out, inbound.ClientSafePipeHandle))
        using (PortPipeReader reader = Port.AssociatePipeReader(inbound.SafePipeHandle))
        {
            byte[] data = TestSupport.RandomBytes(200_000, seed: 55);
            Task writing = Task.Run(() =>
            {
                writer.Write(data);
                writer.Dispose();
            });
            var received = new MemoryStream();
            var chunk = new byte[65536];
            int n;
            while ((n = await reader.ReadAsync(chunk).Within()) > 0)
            {
                received.Write(chunk, 0, n);
            }

            await writing.Within();
            Assert.Equal(data, received.ToArray());
        }

        // The port writes, the BCL reads.
        using (var outbound = new AnonymousPipeServerStream(PipeDirection.Out))
        using (var readerStream = new AnonymousPipeClientStream(PipeDirection.In, outbound.ClientSafePipeHandle))
        using (PortPipeWriter writer = Port.AssociatePipeWriter(outbound.SafePipeHandle))
        {
            byte[] data = TestSupport.RandomBytes(300_000, seed: 56);
            ValueTask<int> writing = writer.WriteAsync(data);
            byte[] received = new byte[data.Length];
            await readerStream.ReadExactlyAsync(received).AsTask().Within();
            Assert.Equal(data.Length, await writing.Within());
            Assert.Equal(data, received);
        }
    }

    [Fact]
    public async Task RefusedHandlesStayTheCallers()
    {
        using var listening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listening.Bind(AnyLoopback);
        listening.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listening.LocalEndPoint!);
        using Socket accepted = listening.Accept();
        using var unconnected = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(AnyLoopback);

        Assert.Throws<ArgumentException>("socket", () => Port.AssociateTcpConnection(listening));
        Assert.Throws<ArgumentException>("socket", () => Port.AssociateTcpConnection(udp));
        Assert.Throws<ArgumentException>("socket", () => Port.AssociateTcpConnection(unconnected));
        Assert.Throws<ArgumentException>("socket", () => Port.AssociateTcpListener(client));
        Assert.Throws<ArgumentException>("socket", () => Port.AssociateUdp(client));
        using (var socketAsFile = new SafeFileHandle(client.Handle, ownsHandle: false))
        {
            Assert.Throws<ArgumentException>("handle", () => Port.AssociateFile(socketAsFile));
        }

        using var dir = new TempDirectory();
        using (SafeFileHandle file = File.OpenHandle(dir.File("f"), FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            Assert.Throws<ArgumentException>("pipeHandle", () => Port.AssociatePipeReader(file));
        }

        // Already associated with a port: this one, or another.
        using (PortTcpConnection connection = Port.AssociateTcpConnection(client))
        {
            ArgumentException again = Assert.Throws<ArgumentException>("socket", () => Port.AssociateTcpConnection(client));
            Assert.Contains("already associated", again.Message, StringComparison.Ordinal);
            using var other = new CompletionPort();
            Assert.Throws<ArgumentException>("socket", () => other.AssociateTcpConnection(client));
            await ExchangeAsync(connection, accepted, seed: 57);
        }

        // Every refused socket still works for its owner.
        Assert.Equal(1, udp.SendTo(new byte[] { 1 }, udp.LocalEndPoint!));
        var one = new byte[1];
        Assert.Equal(1, udp.Receive(one));

        var disposed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        disposed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Port.AssociateTcpConnection(disposed));
        var closedPort = new CompletionPort();
        closedPort.Dispose();
        Assert.Throws<ObjectDisposedException>(() => closedPort.AssociateUdp(udp));
    }

    /// <summary>Data both ways between the port's connection and a BCL socket, then an orderly close from the port's side.</summary>
    private static async Task ExchangeAsync(PortTcpConnection connection, Socket peer, int seed)
    {
        byte[] data = TestSupport.RandomBytes(150_000, seed);
        Task<int> sending = connection.SendAsync(data);
        byte[] received = new byte[data.Length];
        int total = 0;
        while (total < received.Length)
        {
            int n = await peer.ReceiveAsync(received.AsMemory(total)).Within();
            Assert.True(n > 0);
            total += n;
        }

        Assert.Equal(data.Length, await sending.Within());
        Assert.Equal(data, received);

        Array.Reverse(data);
        Task peerSending = peer.SendAsync(data);
        total = 0;
        while (total < received.Length)
        {
            int n = await connection.ReceiveAsync(received.AsMemory(total)).Within();
            Assert.True(n > 0);
            total += n;
        }

        await peerSending.Within();
        Assert.Equal(data, received);
        connection.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await peer.ReceiveAsync(new byte[1]).Within());
    }
}
