using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace IocpHybrid.Demo;

/// <summary>
/// The demo's last act: an <see cref="HttpClient"/> load against the sample web app
/// (managed/samples/WebApp, Kestrel on the IocpHybrid transport) over keep-alive connections.
/// Every response is checked: the plaintext and JSON bodies word for word, and each POST /echo body
/// (1 B .. 64 KiB of a pattern that differs per request) byte for byte, so a response that went to
/// the wrong request or lost a byte is caught.
/// </summary>
internal sealed class WebLoad
{
    private const string Plaintext = "Hello, World!";
    private readonly Uri _server;
    private readonly int _connections;
    private readonly int _requests;
    private readonly long[] _latencyTicks;
    private long _started;
    private long _done;
    private long _failed;
    private long _bodyBytes;

    public WebLoad(Uri server, int connections, int requests)
    {
        _server = server;
        _connections = connections;
        _requests = requests;
        _latencyTicks = new long[requests];
    }

    public long Done => Interlocked.Read(ref _done);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Request and response body bytes of the POST /echo requests, each way.</summary>
    public long EchoedBytes => Interlocked.Read(ref _bodyBytes);

    /// <summary>The first failure seen, for the summary.</summary>
    public string? FirstFailure { get; private set; }

    /// <summary>Runs every request, <c>connections</c> at a time, each worker on its own keep-alive connection.</summary>
    public async Task RunAsync()
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = _connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
        };
        using var client = new HttpClient(handler) { BaseAddress = _server, Timeout = TimeSpan.FromSeconds(30) };
        var workers = new Task[_connections];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(() => WorkerAsync(client));
        }

        await Task.WhenAll(workers);
    }

    /// <summary>Latency percentile over the completed requests, in milliseconds.</summary>
    public double LatencyMilliseconds(double percentile)
    {
        long[] sorted = _latencyTicks.AsSpan(0, (int)Math.Min(Done, _requests)).ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        Array.Sort(sorted);
        int index = Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1);
        return sorted[index] * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>The server's own account (GET /stats): which transport and backend served the load.</summary>
    public async Task<string> ServerStatsAsync()
    {
        using var client = new HttpClient { BaseAddress = _server, Timeout = TimeSpan.FromSeconds(10) };
        return (await client.GetStringAsync("/stats")).Trim();
    }

    private async Task WorkerAsync(HttpClient client)
    {
        byte[] sent = new byte[64 * 1024];
        long index;
        while ((index = Interlocked.Increment(ref _started) - 1) < _requests)
        {
            long start = Stopwatch.GetTimestamp();
            string? failure;
            try
            {
                failure = (index % 4) switch
                {
                    0 or 1 => Check(await client.GetStringAsync("/plaintext") == Plaintext, "GET /plaintext: wrong body"),
                    2 => await CheckJsonAsync(client),
                    _ => await CheckEchoAsync(client, sent, index),
                };
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
            {
                failure = $"{ex.GetType().Name}: {ex.Message}";
            }

            long slot = Interlocked.Increment(ref _done) - 1;
            _latencyTicks[slot] = Stopwatch.GetTimestamp() - start;
            if (failure is not null)
            {
                Interlocked.Increment(ref _failed);
                FirstFailure ??= $"request {index}: {failure}";
            }
        }
    }

    private static async Task<string?> CheckJsonAsync(HttpClient client)
    {
        using JsonDocument json = JsonDocument.Parse(await client.GetStringAsync("/json"));
        return Check(json.RootElement.TryGetProperty("message", out JsonElement message) && message.GetString() == Plaintext,
                     "GET /json: wrong body");
    }

    private async Task<string?> CheckEchoAsync(HttpClient client, byte[] sent, long index)
    {
        int size = 1 + (int)((ulong)(index * 2654435761L) % (ulong)sent.Length);
        EchoRun.Fill(sent.AsSpan(0, size), (int)index, round: 0, size);
        using var content = new ByteArrayContent(sent, 0, size);
        using HttpResponseMessage response = await client.PostAsync("/echo", content);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return $"POST /echo: status {(int)response.StatusCode}";
        }

        byte[] received = await response.Content.ReadAsByteArrayAsync();
        Interlocked.Add(ref _bodyBytes, size);
        return Check(received.AsSpan().SequenceEqual(sent.AsSpan(0, size)), $"POST /echo: {received.Length} bytes back of {size}, or different bytes");
    }

    private static string? Check(bool ok, string failure) => ok ? null : failure;
}
