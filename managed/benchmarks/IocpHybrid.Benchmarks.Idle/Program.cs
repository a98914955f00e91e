using System.Globalization;
using System.Net;
using System.Net.Sockets;
using IocpHybrid;
using IocpHybrid.Benchmarks.Idle;

// IocpHybrid.Benchmarks.Idle --mode port|sockets --conns N: see Usage. Exit codes as the C servers'
// (native/benchmarks/bench_idle.h): 0 done, 1 failure, 2 usage, 77 the descriptor limit is too low.
const string Usage = """
    usage: IocpHybrid.Benchmarks.Idle --mode port|sockets [--conns N] [--wait-for-data]
      --mode port      IocpHybrid: CompletionPort (defaults), PortTcpListener.AcceptAsync, PortTcpConnection.ReceiveAsync
      --mode sockets   System.Net.Sockets: Socket.AcceptAsync, Socket.ReceiveAsync
      --conns N        connections to hold (default 10000)
      --wait-for-data  the pending receive is a zero-byte one (completes when data arrives, no buffer
                       per connection: what Kestrel keeps on an idle connection) instead of one into 4 KiB
    Prints {"event":"listening","port":P}, then {"event":"pending",...} once N receives are pending,
    then the figures once bench_idle_clients has sent one byte on every connection.
    """;

string? mode = null;
int n = 10000;
bool waitForData = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--mode" when i + 1 < args.Length: mode = args[++i]; break;
        case "--conns" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out n) && n > 0: i++; break;
        case "--wait-for-data": waitForData = true; break;
        case "-h" or "--help": Console.WriteLine(Usage); return 0;
        default: Console.Error.WriteLine(Usage); return 2;
    }
}

if (mode is not ("port" or "sockets"))
{
    Console.Error.WriteLine(Usage);
    return 2;
}

// The runtime raises the soft descriptor limit to the hard one at startup; check that N fits.
long limit = DescriptorLimit();
const int Margin = 64; // as IDLE_FD_MARGIN: stdio, listener, port, runtime
if (limit < n + Margin)
{
    Console.Error.WriteLine($"idle server: {n} connections need {n + Margin} descriptors, the limit is {limit} (raise the hard limit: ulimit -Hn)");
    return 77;
}

var loopback = new IPEndPoint(IPAddress.Loopback, 0);
if (mode == "port")
{
    await using var port = new CompletionPort();
    using PortTcpListener listener = port.ListenTcp(loopback);
    var server = new IdleServer<PortTcpConnection>(
        () => listener.AcceptAsync(),
        (c, b) => c.ReceiveAsync(b),
        c => c.Dispose(),
        expected =>
        {
            // The native side's count: exactly one operation per connection in flight.
            long inFlight = port.GetStatistics().OperationsInFlight;
            return inFlight == expected ? null : $"{inFlight} operations in flight, expected {expected} pending receives";
        },
        waitForData);
    return await server.RunAsync(n, listener.LocalEndPoint.Port);
}
else
{
    using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.Bind(loopback);
    listener.Listen();
    var server = new IdleServer<Socket>(
        () => listener.AcceptAsync(CancellationToken.None), // the ValueTask overload, as the port's
        (c, b) => c.ReceiveAsync(b, SocketFlags.None),
        c => c.Dispose(),
        _ => null, // no count to compare with: the early-completion check is all there is
        waitForData);
    return await server.RunAsync(n, ((IPEndPoint)listener.LocalEndPoint!).Port);
}

// "Max open files            20000                20000                files" in /proc/self/limits.
static long DescriptorLimit()
{
    string? line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
    string[] parts = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
    return parts.Length > 0 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out long v) ? v : long.MaxValue; // "unlimited"
}
