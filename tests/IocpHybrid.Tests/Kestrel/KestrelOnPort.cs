using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IocpHybrid.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IocpHybrid.Tests.Kestrel;

/// <summary>
/// A minimal API app served by Kestrel on the IocpHybrid transport, on a loopback port the system picks:
/// the endpoints the transport tests ask for (plain, chunked, large bodies both ways, the connection's
/// id, a request held until the test releases it).
/// </summary>
internal sealed class KestrelOnPort : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private KestrelOnPort(WebApplication app, Uri address, IocpHybridTransportFactory factory)
    {
        _app = app;
        Address = address;
        Factory = factory;
    }

    public Uri Address { get; }

    public IocpHybridTransportFactory Factory { get; }

    /// <summary>Requests to /hold wait here; the test releases them.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Requests that reached /hold.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>The exceptions request bodies threw while /hash read them (a client that aborted).</summary>
    public List<Exception> BodyErrors { get; } = new();

    private int _held;

    public static byte[] Hello { get; } = "Hello, World!"u8.ToArray();

    public static async Task<KestrelOnPort> StartAsync(
        X509Certificate2? certificate = null,
        Action<KestrelServerOptions>? kestrel = null,
        Action<IocpHybridTransportOptions>? transport = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseIocpHybrid(o => transport?.Invoke(o));
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.Limits.MaxRequestBodySize = null;
            options.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (certificate is not null)
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
            });
            kestrel?.Invoke(options);
        });
        WebApplication app = builder.Build();
        KestrelOnPort? self = null;
        app.MapGet("/plain", () => Results.Bytes(Hello, "text/plain"));
        app.MapGet("/chunked", async (HttpContext context) =>
        {
            for (int i = 0; i < 10; i++)
            {
                await context.Response.WriteAsync($"chunk {i}\n");
                await context.Response.Body.FlushAsync();
            }
        });
        app.MapGet("/bytes/{length:long}", async (long length, HttpContext context) =>
        {
            context.Response.ContentLength = length;
            var block = new byte[64 * 1024];
            var random = new Random(1);
            for (long sent = 0; sent < length; sent += block.Length)
            {
                random.NextBytes(block);
                await context.Response.Body.WriteAsync(block.AsMemory(0, (int)Math.Min(block.Length, length - sent)));
            }
        });
        app.MapPost("/hash", async (HttpContext context) =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long total = 0;
            try
            {
                int n;
                while ((n = await context.Request.Body.ReadAsync(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, n);
                    total += n;
                }
            }
            catch (Exception ex)
            {
                lock (self!.BodyErrors)
                {
                    self.BodyErrors.Add(ex);
                }

                throw;
            }

            return $"{total} {Convert.ToHexString(hash.GetHashAndReset())}";
        });
        app.MapGet("/connection", (HttpContext context) => context.Connection.Id);
        app.MapGet("/hold", async () =>
        {
            Interlocked.Increment(ref self!._held);
            await self.Release.Task;
            return "released";
        });

        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var factory = app.Services.GetRequiredService<IocpHybridTransportFactory>();
        self = new KestrelOnPort(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), factory);

        // The transport served the bind (not Kestrel's sockets), on the backend this run expects.
        Assert.NotNull(factory.Port);
        Assert.Equal(TestSupport.ExpectedDefaultBackend(), factory.Port!.Backend);
        return self;
    }

    /// <summary>Kestrel's graceful stop: it stops accepting and waits for requests in flight.</summary>
    public async Task StopAsync()
    {
        _stopped = true;
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Release.TrySetResult();
        if (!_stopped)
        {
            await _app.StopAsync();
        }

        await _app.DisposeAsync();
    }

    /// <summary>A self-signed server certificate for 127.0.0.1 and localhost.</summary>
    public static X509Certificate2 CreateCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));

        // A PFX round trip: SChannel (Windows, Wine) needs a key it can find, not an ephemeral one.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
