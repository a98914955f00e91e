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

    private KestrelOnPort(WebApplication app, Uri address, IocpHybridTransportFactory? factory)
    {
        _app = app;
        Address = address;
        _factory = factory;
    }

    public Uri Address { get; }

    /// <summary>The transport's factory (null when the app runs on Kestrel's own sockets transport, a control).</summary>
    public IocpHybridTransportFactory Factory => _factory ?? throw new InvalidOperationException("This app runs on Kestrel's sockets transport.");

    private readonly IocpHybridTransportFactory? _factory;

    /// <summary>Requests to /hold wait here; the test releases them.</summary>
    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Requests that reached /hold.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Requests whose body /hash has started to read.</summary>
    public int BodiesStarted => Volatile.Read(ref _bodiesStarted);

    private int _bodiesStarted;

    /// <summary>The exceptions request bodies threw while /hash read them (a client that aborted).</summary>
    public List<Exception> BodyErrors { get; } = new();

    private int _held;

    public static byte[] Hello { get; } = "Hello, World!"u8.ToArray();

    public static async Task<KestrelOnPort> StartAsync(
        X509Certificate2? certificate = null,
        Action<KestrelServerOptions>? kestrel = null,
        Action<IocpHybridTransportOptions>? transport = null,
        bool kestrelSockets = false)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (!kestrelSockets)
        {
            builder.WebHost.UseIocpHybrid(o => transport?.Invoke(o));
        }

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
                    if (total == 0)
                    {
                        Interlocked.Increment(ref self!._bodiesStarted);
                    }

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
        IocpHybridTransportFactory? factory = app.Services.GetService<IocpHybridTransportFactory>();
        self = new KestrelOnPort(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), factory);

        // The transport served the bind (not Kestrel's sockets), on the backend this run expects.
        if (!kestrelSockets)
        {
            Assert.NotNull(factory?.Port);
            Assert.Equal(TestSupport.ExpectedDefaultBackend(), factory!.Port!.Backend);
        }

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

    /// <summary>
    /// The tests' self-signed server certificate for 127.0.0.1 and localhost (test-server.pfx, no password,
    /// valid until 2126; made with openssl, 3DES/SHA-1 PKCS#12 so that every platform loads it). A file rather
    /// than CertificateRequest.CreateSelfSigned: under Wine that fails (CryptographicException 0xc1000002).
    /// Its key protects nothing but these tests.
    /// </summary>
    public static X509Certificate2 CreateCertificate() =>
        X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(AppContext.BaseDirectory, "Kestrel", "test-server.pfx"), null);
}
