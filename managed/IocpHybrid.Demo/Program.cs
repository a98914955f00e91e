using System.Diagnostics;
using System.IO.Hashing;
using IocpHybrid;
using IocpHybrid.Demo;

// The demo: copy a file through a completion port with many operations in flight, verify the copy.
DemoOptions options;
try
{
    options = DemoOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(DemoOptions.Usage);
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(DemoOptions.Usage);
    return 0;
}

try
{
    return await RunAsync(options);
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException or ArgumentException or ObjectDisposedException or System.Net.Sockets.SocketException or HttpRequestException)
{
    Console.Error.WriteLine();
    Console.Error.WriteLine($"error: {ex.GetType().Name}: {ex.Message}");
    return 2;
}

static async Task<int> RunAsync(DemoOptions options)
{
    await using var port = new CompletionPort(new CompletionPortOptions { Backend = options.Backend });
    Console.WriteLine($"IocpHybrid {CompletionPort.NativeVersion} demo on {Environment.OSVersion} (.NET {Environment.Version})");
    Console.WriteLine($"backend: {port.BackendName} ({port.BackendReasonMessage})");
    int result = options.SkipCopy ? 0 : await CopyFileAsync(port, options);
    if (result == 0 && !options.SkipEcho)
    {
        result = await RunEchoAsync(port, options);
    }

    if (result == 0 && options.WebServer is not null)
    {
        result = await RunWebLoadAsync(options.WebServer, options);
    }

    return result;
}

static async Task<int> RunWebLoadAsync(Uri server, DemoOptions options)
{
    var load = new WebLoad(server, options.WebConnections, options.WebRequests);
    Console.WriteLine($"web: {options.WebRequests} requests (GET /plaintext, GET /json, POST /echo of 1 B .. 64 KiB) " +
                      $"over {options.WebConnections} keep-alive HttpClient connections against {server}");
    var clock = Stopwatch.StartNew();
    await using (new ProgressBar("web", options.WebRequests, () => load.Done, ProgressBar.Unit.Requests))
    {
        await load.RunAsync();
    }

    clock.Stop();
    double seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"web: {load.Done} requests in {seconds:F2} s ({load.Done / seconds:F0} requests/s), " +
                      $"latency p50 {load.LatencyMilliseconds(50):F2} ms, p99 {load.LatencyMilliseconds(99):F2} ms, " +
                      $"{load.EchoedBytes / (1024.0 * 1024):F1} MiB echoed, {load.Failed} failed");
    Console.WriteLine($"server: {await load.ServerStatsAsync()}");
    if (load.Failed != 0 || load.Done != options.WebRequests)
    {
        Console.WriteLine($"FAILED: {load.Failed} of {load.Done} requests; first: {load.FirstFailure}");
        return 1;
    }

    Console.WriteLine("OK: every response verified");
    return 0;
}

static async Task<int> RunEchoAsync(CompletionPort port, DemoOptions options)
{
    var echo = new EchoRun(port);
    using var stop = new CancellationTokenSource();
    PortTcpListener? listener = null;
    Task serverTask = Task.CompletedTask;
    System.Net.IPEndPoint server = options.EchoServer ?? (listener = echo.StartServer(stop.Token, out serverTask)).LocalEndPoint;
    string serverName = options.EchoServer is null ? $"in-process IocpHybrid server on {server}" : $"external server {server}";
    long total = (long)options.EchoClients * options.EchoRounds * EchoRun.MessageSizes.Length;
    Console.WriteLine($"echo: {options.EchoClients} clients x {options.EchoRounds} rounds x {EchoRun.MessageSizes.Length} message sizes " +
                      $"(1 B .. {EchoRun.MessageSizes.Max() / 1024} KiB) against the {serverName}");
    var clock = Stopwatch.StartNew();
    int mismatches;
    long totalBytes = (long)options.EchoClients * options.EchoRounds * EchoRun.MessageSizes.Sum(size => (long)size);
    await using (new ProgressBar("echo", totalBytes, () => echo.BytesDone))
    {
        mismatches = await echo.RunClientsAsync(server, options.EchoClients, options.EchoRounds);
    }

    clock.Stop();
    if (listener is not null)
    {
        stop.Cancel();
        listener.Dispose();
        await serverTask;
    }

    double seconds = clock.Elapsed.TotalSeconds;
    Console.WriteLine($"echo: {echo.MessagesDone} messages, {echo.BytesDone / (1024.0 * 1024):F1} MiB each way in {seconds:F2} s " +
                      $"({echo.MessagesDone / seconds:F0} round trips/s), {mismatches} mismatches");
    if (mismatches != 0 || echo.MessagesDone != total)
    {
        Console.WriteLine("MISMATCH: some echoes differ from what was sent");
        return 1;
    }

    Console.WriteLine($"OK: every echo matches (backend {port.BackendName})");
    return 0;
}

static async Task<int> CopyFileAsync(CompletionPort port, DemoOptions options)
{
    Console.WriteLine($"backend: {port.BackendName}, worker threads: {port.GetStatistics().WorkerThreads}, " +
                      $"block: {options.BlockBytes / 1024} KiB, lanes in flight: {options.Depth}, " +
                      $"{(options.Unbuffered ? "unbuffered" : "buffered")} I/O");

    var copier = new FileCopier(port, options.BlockBytes, options.Depth, options.Unbuffered);
    Directory.CreateDirectory(Path.GetDirectoryName(options.Source)!);
    Directory.CreateDirectory(Path.GetDirectoryName(options.Destination)!);
    if (!File.Exists(options.Source))
    {
        Console.WriteLine($"creating {options.Source} ({options.SizeBytes / (1024 * 1024)} MiB of random data)");
        await using (new ProgressBar("create", options.SizeBytes, () => copier.BytesDone))
        {
            await copier.CreateRandomFileAsync(options.Source, options.SizeBytes);
        }
    }

    long length = new FileInfo(options.Source).Length;
    Console.WriteLine($"copying {options.Source} -> {options.Destination} ({length / (1024.0 * 1024):F1} MiB)");
    PortStatistics before = port.GetStatistics();
    var clock = Stopwatch.StartNew();
    await using (new ProgressBar("copy", length, () => copier.BytesDone))
    {
        await copier.CopyAsync(options.Source, options.Destination);
    }

    clock.Stop();
    PortStatistics after = port.GetStatistics();
    double seconds = clock.Elapsed.TotalSeconds;
    long completions = after.CompletionsDelivered - before.CompletionsDelivered;
    long batches = after.CallbackBatches - before.CallbackBatches;
    long waits = after.OsWaits - before.OsWaits;
    Console.WriteLine($"copied {length / (1024.0 * 1024):F1} MiB in {seconds:F2} s: {length / seconds / (1024 * 1024):F1} MiB/s " +
                      $"({completions} completions, {completions / Math.Max(1.0, batches):F1} per callback batch, " +
                      $"{completions / Math.Max(1.0, waits):F1} per OS wait)");

    Console.Write("verifying (XxHash128)... ");
    UInt128 sourceHash = await HashAsync(options.Source);
    UInt128 copyHash = await HashAsync(options.Destination);
    long copyLength = new FileInfo(options.Destination).Length;
    Console.WriteLine();
    Console.WriteLine($"  source {sourceHash:X32}  {length} bytes");
    Console.WriteLine($"  copy   {copyHash:X32}  {copyLength} bytes");
    if (sourceHash != copyHash || length != copyLength)
    {
        Console.WriteLine($"MISMATCH: the copy differs from the source (kept at {options.Destination})");
        return 1;
    }

    Console.WriteLine($"OK: the copy matches the source (backend {port.BackendName}, {length / seconds / (1024 * 1024):F1} MiB/s)");
    if (!options.KeepCopy)
    {
        File.Delete(options.Destination);
    }

    return 0;
}

// Hashed through a plain FileStream: an independent path, so a bug in the port can't hide itself.
static async Task<UInt128> HashAsync(string path)
{
    var hash = new XxHash128();
    await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20, useAsync: false);
    await hash.AppendAsync(stream);
    return hash.GetCurrentHashAsUInt128();
}
