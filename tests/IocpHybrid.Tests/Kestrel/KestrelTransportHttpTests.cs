using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace IocpHybrid.Tests.Kestrel;

/// <summary>HTTP/1.1 through Kestrel on the IocpHybrid transport, to real clients (HttpClient, raw sockets).</summary>
public sealed class KestrelTransportHttpTests
{
    private const long HundredMegabytes = 100L * 1024 * 1024;

    [Fact]
    public async Task ServesPlainAndChunkedResponses()
    {
        await using KestrelOnPort server = await KestrelOnPort.StartAsync();
        using var client = new HttpClient { BaseAddress = server.Address };

        byte[] plain = await client.GetByteArrayAsync("/plain").Within();
        Assert.Equal(KestrelOnPort.Hello, plain);

        using HttpResponseMessage chunked = await client.GetAsync("/chunked").Within();
        Assert.True(chunked.Headers.TransferEncodingChunked, "the response without a length was not chunked");
        string text = await chunked.Content.ReadAsStringAsync().Within();
        Assert.Equal(string.Concat(Enumerable.Range(0, 10).Select(i => $"chunk {i}\n")), text);
    }

    [Fact]
    public async Task CarriesAHundredMegabyteRequestBodyWhole()
    {
        await using KestrelOnPort server = await KestrelOnPort.StartAsync();
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };
        var body = new GeneratedStream(HundredMegabytes, seed: 5);
        using HttpResponseMessage response = await client.PostAsync("/hash", new StreamContent(body, 64 * 1024)).Within(TimeSpan.FromMinutes(5));
        response.EnsureSuccessStatusCode();
        string reply = await response.Content.ReadAsStringAsync().Within();
        Assert.Equal($"{HundredMegabytes} {Convert.ToHexString(body.Hash())}", reply);
    }

    [Fact]
    public async Task CarriesAHundredMegabyteResponseBodyWhole()
    {
        await using KestrelOnPort server = await KestrelOnPort.StartAsync();
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };
        using HttpResponseMessage response = await client.GetAsync($"/bytes/{HundredMegabytes}", HttpCompletionOption.ResponseHeadersRead).Within();
        response.EnsureSuccessStatusCode();
        await using Stream stream = await response.Content.ReadAsStreamAsync().Within();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer).AsTask().Within()) > 0)
        {
            hash.AppendData(buffer, 0, n);
            total += n;
        }

        Assert.Equal(HundredMegabytes, total);
        Assert.Equal(ExpectedResponseHash(HundredMegabytes), hash.GetHashAndReset());
    }

    [Fact]
    public async Task KeepsAConnectionAliveAcrossRequests()
    {
        await using KestrelOnPort server = await KestrelOnPort.StartAsync();
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var client = new HttpClient(handler) { BaseAddress = server.Address };
        var ids = new HashSet<string>();
        for (int i = 0; i < 20; i++)
        {
            ids.Add(await client.GetStringAsync("/connection").Within());
        }

        Assert.Single(ids);
    }

    [Fact]
    public async Task AnswersPipelinedRequestsInOrder()
    {
        await using KestrelOnPort server = await KestrelOnPort.StartAsync();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Address.Port)).Within();
        const string request = "GET /plain HTTP/1.1\r\nHost: test\r\n\r\nGET /connection HTTP/1.1\r\nHost: test\r\n\r\nGET /plain HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(request)).Within();

        var received = new MemoryStream();
        var buffer = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buffer).Within()) > 0)
        {
            received.Write(buffer, 0, n);
        }

        string text = Encoding.ASCII.GetString(received.ToArray());
        string[] responses = text.Split("HTTP/1.1 200 OK", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, responses.Length);
        Assert.EndsWith("Hello, World!", responses[0], StringComparison.Ordinal);
        Assert.Contains("iocph-", responses[1], StringComparison.Ordinal);
        Assert.EndsWith("Hello, World!", responses[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServesAThousandConcurrentConnections()
    {
        const int connections = 1000;
        await using KestrelOnPort server = await KestrelOnPort.StartAsync();
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = connections };
        using var client = new HttpClient(handler) { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(2) };

        // Every request waits at /hold until all have arrived: 1,000 connections open at once.
        Task<string>[] requests = Enumerable.Range(0, connections).Select(_ => client.GetStringAsync("/hold")).ToArray();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (server.Held < connections)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"{server.Held} of {connections} requests held after {clock.Elapsed}");
            Assert.DoesNotContain(requests, r => r.IsFaulted);
            await Task.Delay(20);
        }

        server.Release.SetResult();
        string[] replies = await Task.WhenAll(requests).Within(TimeSpan.FromMinutes(2));
        Assert.All(replies, reply => Assert.Equal("released", reply));
    }

    /// <summary>What /bytes/{length} sends: 64 KiB blocks of Random(1).</summary>
    private static byte[] ExpectedResponseHash(long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var block = new byte[64 * 1024];
        var random = new Random(1);
        for (long sent = 0; sent < length; sent += block.Length)
        {
            random.NextBytes(block);
            hash.AppendData(block, 0, (int)Math.Min(block.Length, length - sent));
        }

        return hash.GetHashAndReset();
    }
}
