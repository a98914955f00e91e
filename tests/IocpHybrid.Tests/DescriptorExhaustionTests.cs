using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IocpHybrid.Tests;

[CollectionDefinition(nameof(DescriptorExhaustionCollection), DisableParallelization = true)]
public sealed class DescriptorExhaustionCollection
{
}

/// <summary>
/// Descriptor exhaustion (ulimit -n 64, lowered inside this process): with every descriptor in use,
/// creating a port, pipe, file, listener, UDP socket or connection throws the exception users catch for
/// it (IOException with EMFILE, SocketException TooManyOpenSockets), an accept with a connection
/// waiting fails the same way, a pending read is not disturbed, and everything works again once
/// descriptors are freed. Runs alone (its collection disables parallelization): the limit is the whole
/// process's. Linux only: Windows has no per-process handle limit a process can lower.
/// </summary>
[Collection(nameof(DescriptorExhaustionCollection))]
public sealed partial class DescriptorExhaustionTests
{
    private const int ResourceNoFile = 7; // RLIMIT_NOFILE on Linux
    private const int Emfile = 24;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [Fact]
    public async Task OutOfDescriptorsEveryCreateFailsClearlyAndThePortRecovers()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("Windows has no per-process handle limit a process can lower (no RLIMIT_NOFILE equivalent).");
        }

        using var dir = new TempDirectory();
        string path = dir.File("f.bin");
        File.WriteAllBytes(path, [1]);
        await using var port = new CompletionPort(new CompletionPortOptions { WorkerThreads = 1 });
        // Everything the window below runs, once with descriptors to spare: no assembly, type or JIT work
        // (which may open files) is left for the window.
        Warm(port, path);
        using PortTcpListener listener = port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        using PortTcpConnection client = await PortTcpConnection.ConnectAsync(port, listener.LocalEndPoint).Within();
        using PortPipe pipe = port.CreatePipe();
        var readBuffer = new byte[8];
        Task<int> pendingRead = pipe.Reader.ReadAsync(readBuffer).AsTask();

        Assert.Equal(0, GetRLimit(ResourceNoFile, out RLimit original));
        var fillers = new List<int>();
        try
        {
            Assert.Equal(0, SetRLimit(ResourceNoFile, new RLimit { Current = 64, Maximum = original.Maximum }));
            while (true)
            {
                int fd = Open("/dev/null", 0);
                if (fd < 0)
                {
                    Assert.Equal(Emfile, Marshal.GetLastPInvokeError());
                    break;
                }

                fillers.Add(fd);
            }

            AssertTooMany(Assert.Throws<IOException>(() => port.CreatePipe()));
            AssertTooMany(Assert.Throws<IOException>(() => port.OpenFile(path, FileMode.Open, FileAccess.Read)));
            AssertTooMany(Assert.Throws<IOException>(() => new CompletionPort()));
            Assert.Equal(SocketError.TooManyOpenSockets, Assert.Throws<SocketException>(() => port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0))).SocketErrorCode);
            Assert.Equal(SocketError.TooManyOpenSockets, Assert.Throws<SocketException>(() => port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0))).SocketErrorCode);
            Assert.Equal(SocketError.TooManyOpenSockets, (await Assert.ThrowsAsync<SocketException>(async () => await PortTcpConnection.ConnectAsync(port, listener.LocalEndPoint).Within())).SocketErrorCode);
            // The accept: refused at the call or failed at its completion, once (then the connection is
            // still in the backlog for the accept below).
            Assert.Equal(SocketError.TooManyOpenSockets, (await Assert.ThrowsAsync<SocketException>(async () => await listener.AcceptAsync().Within())).SocketErrorCode);

            // The read started before is not disturbed: a write needs no new descriptor.
            Assert.Equal(4, await pipe.Writer.WriteAsync(new byte[] { 1, 2, 3, 4 }).Within());
            Assert.Equal(4, await pendingRead.Within());
        }
        finally
        {
            foreach (int fd in fillers)
            {
                Close(fd);
            }

            SetRLimit(ResourceNoFile, original);
        }

        // Descriptors free again: the connection that waited in the backlog is accepted, everything works.
        using PortTcpConnection server = await listener.AcceptAsync().Within();
        await client.SendAsync(new byte[] { 9 }).Within();
        var one = new byte[1];
        Assert.Equal(1, await server.ReceiveAsync(one).Within());
        Assert.Equal(9, one[0]);
        Warm(port, path);
        await using var second = new CompletionPort();
        Assert.Equal(TestSupport.ExpectedDefaultBackend(), second.Backend);
    }

    /// <summary>EMFILE as the HResult (what the BCL uses on Unix) where the OS error travelled with the
    /// status, else the library's fallback HRESULT_FROM_WIN32(ERROR_TOO_MANY_OPEN_FILES).</summary>
    private static void AssertTooMany(IOException ex) =>
        Assert.True(ex.HResult is Emfile or unchecked((int)0x80070004), $"HResult 0x{ex.HResult:X8}: {ex.Message}");

    private static void Warm(CompletionPort port, string path)
    {
        port.CreatePipe().Dispose();
        port.OpenFile(path, FileMode.Open, FileAccess.Read).Dispose();
        port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0)).Dispose();
        port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0)).Dispose();
        new CompletionPort().Dispose();
        _ = new SocketException((int)SocketError.TooManyOpenSockets).Message;
        _ = new IOException("warm", Emfile).Message;
    }
}
