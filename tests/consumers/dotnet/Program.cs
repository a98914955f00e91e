// A user's program on the IocpHybrid package: a file, a pipe, a posted packet, TCP and UDP through one
// completion port. Exits 0 when every step gave the expected bytes, 1 (with the reason) otherwise.
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using IocpHybrid;

try
{
    await RunAsync();
    Console.WriteLine("consumer: ok");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"consumer: FAILED: {e}");
    return 1;
}

static async Task RunAsync()
{
    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
    CancellationToken token = timeout.Token;

    // The native library the package delivered for this runtime is the package's own version.
    Version assembly = typeof(CompletionPort).Assembly.GetName().Version!;
    Check(CompletionPort.NativeVersion == new Version(assembly.Major, assembly.Minor, assembly.Build),
        $"native {CompletionPort.NativeVersion}, assembly {assembly}");

    await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 2 });
    string informational = typeof(CompletionPort).Assembly
        .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
    Console.WriteLine($"IocpHybrid {informational}, native {CompletionPort.NativeVersion}, backend {port.BackendName} " +
                      $"({port.BackendReason}), {System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}, " +
                      $"{(System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "NativeAOT")}");

    // A file: write, then read back at an offset.
    string path = Path.Combine(Path.GetTempPath(), $"iocphybrid-consumer-{Environment.ProcessId}.bin");
    try
    {
        byte[] data = new byte[100_000];
        new Random(7).NextBytes(data);
        using (PortFile file = port.OpenFile(path, FileMode.Create, FileAccess.ReadWrite))
        {
            Check(await file.WriteAsync(data, fileOffset: 0, token) == data.Length, "file write");
            byte[] back = new byte[data.Length];
            int total = 0;
            while (total < back.Length)
            {
                int n = await file.ReadAsync(back.AsMemory(total), total, token);
                Check(n > 0, "file read: early end of file");
                total += n;
            }
            Check(back.AsSpan().SequenceEqual(data), "file read: other bytes");
        }
    }
    finally
    {
        File.Delete(path);
    }
    Console.WriteLine("file: ok");

    // A pipe: bytes written at one end are read at the other; a cancelled read throws.
    using (PortPipe pipe = port.CreatePipe())
    {
        byte[] message = "through the pipe"u8.ToArray();
        Check(await pipe.Writer.WriteAsync(message, token) == message.Length, "pipe write");
        byte[] buffer = new byte[64];
        int n = await pipe.Reader.ReadAsync(buffer, token);
        Check(buffer.AsSpan(0, n).SequenceEqual(message), "pipe read");
        using var soon = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        try
        {
            await pipe.Reader.ReadAsync(buffer, soon.Token);
            Check(false, "pipe read with nothing to read completed");
        }
        catch (OperationCanceledException)
        {
        }
    }
    Console.WriteLine("pipe: ok");

    Check(await port.PostAsync(key: 3, value: 42) == 42, "posted packet");
    Console.WriteLine("post: ok");

    // TCP: connect to a listener, echo 256 KiB back and forth.
    using (PortTcpListener listener = port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0)))
    {
        ValueTask<PortTcpConnection> accepting = listener.AcceptAsync(token);
        using PortTcpConnection client = await PortTcpConnection.ConnectAsync(port, listener.LocalEndPoint, token);
        using PortTcpConnection server = await accepting;
        byte[] sent = new byte[256 * 1024];
        new Random(11).NextBytes(sent);
        Task echo = Task.Run(async () =>
        {
            byte[] chunk = new byte[16 * 1024];
            int n;
            while ((n = await server.ReceiveAsync(chunk.AsMemory(), token)) > 0)
            {
                await server.SendAsync(chunk.AsMemory(0, n), token);
            }
            server.Shutdown(SocketShutdown.Send);
        });
        Task send = Task.Run(async () =>
        {
            await client.SendAsync(sent.AsMemory(), token);
            client.Shutdown(SocketShutdown.Send);
        });
        byte[] received = new byte[sent.Length + 1];
        int got = 0, r;
        while ((r = await client.ReceiveAsync(received.AsMemory(got), token)) > 0)
        {
            got += r;
        }
        await Task.WhenAll(echo, send);
        Check(got == sent.Length && received.AsSpan(0, got).SequenceEqual(sent), $"tcp echo: {got} of {sent.Length} bytes");
    }
    Console.WriteLine("tcp: ok");

    // UDP: a datagram from one socket to another, with its sender.
    using (PortUdpSocket a = port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0)))
    using (PortUdpSocket b = port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0)))
    {
        byte[] buffer = new byte[64];
        ValueTask<PortReceiveFromResult> receiving = b.ReceiveFromAsync(buffer, token);
        byte[] datagram = "a datagram"u8.ToArray();
        Check(await a.SendToAsync(datagram, b.LocalEndPoint, token) == datagram.Length, "udp send");
        PortReceiveFromResult result = await receiving;
        Check(buffer.AsSpan(0, result.ReceivedBytes).SequenceEqual(datagram) && !result.Truncated, "udp receive");
        Check(result.RemoteEndPoint.Equals(a.LocalEndPoint), $"udp sender {result.RemoteEndPoint}, expected {a.LocalEndPoint}");
    }
    Console.WriteLine("udp: ok");
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException(what);
    }
}
