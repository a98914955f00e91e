using System.Net;

namespace IocpHybrid.Tests;

/// <summary>Live and disposed objects of every public kind, for the bad-input cases.</summary>
public sealed class BadInputFixture : IAsyncDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly List<IDisposable> _owned = [];

    private BadInputFixture()
    {
        Port = new CompletionPort();
        DeadPort = new CompletionPort();
        DeadPort.Dispose();
        FilePath = _dir.File("data.bin");
        System.IO.File.WriteAllBytes(FilePath, new byte[8192]);
        File = Own(Port.OpenFile(FilePath, FileMode.Open, FileAccess.ReadWrite));
        ReadOnlyFile = Own(Port.OpenFile(FilePath, FileMode.Open, FileAccess.Read));
        WriteOnlyFile = Own(Port.OpenFile(FilePath, FileMode.Open, FileAccess.Write));
        DeadFile = Port.OpenFile(FilePath, FileMode.Open, FileAccess.ReadWrite);
        DeadFile.Dispose();
        Pipe = Own(Port.CreatePipe());
        DeadPipe = Port.CreatePipe();
        DeadPipe.Dispose();
        Listener = Own(Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0)));
        DeadListener = Port.ListenTcp(new IPEndPoint(IPAddress.Loopback, 0));
        DeadListener.Dispose();
        Udp = Own(Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0)));
        DeadUdp = Port.BindUdp(new IPEndPoint(IPAddress.Loopback, 0));
        DeadUdp.Dispose();
    }

    public CompletionPort Port { get; }

    public CompletionPort DeadPort { get; }

    public string Directory => _dir.Path;

    public string FilePath { get; }

    public PortFile File { get; }

    public PortFile ReadOnlyFile { get; }

    public PortFile WriteOnlyFile { get; }

    public PortFile DeadFile { get; }

    public PortPipe Pipe { get; }

    public PortPipe DeadPipe { get; }

    public PortTcpListener Listener { get; }

    public PortTcpListener DeadListener { get; }

    public PortTcpConnection Client { get; private set; } = null!;

    public PortTcpConnection DeadConnection { get; private set; } = null!;

    public PortNetworkStream Stream { get; private set; } = null!;

    public PortNetworkStream DeadStream { get; private set; } = null!;

    public PortUdpSocket Udp { get; }

    public PortUdpSocket DeadUdp { get; }

    public static CancellationToken Canceled { get; } = new(canceled: true);

    public static async Task<BadInputFixture> CreateAsync()
    {
        var f = new BadInputFixture();
        ValueTask<PortTcpConnection> accept = f.Listener.AcceptAsync();
        f.Client = f.Own(await PortTcpConnection.ConnectAsync(f.Port, f.Listener.LocalEndPoint).Within());
        f.DeadConnection = await accept.Within();
        f.DeadConnection.Dispose();
        f.Stream = f.Own(new PortNetworkStream(f.Client));
        f.DeadStream = new PortNetworkStream(f.Client);
        f.DeadStream.Dispose();
        return f;
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IDisposable item in _owned)
        {
            item.Dispose();
        }

        await Port.DisposeAsync();
        _dir.Dispose();
    }
}
