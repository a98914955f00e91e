using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace IocpHybrid.Tests.Kestrel;

/// <summary>Kestrel's TLS over the transport, with HTTP/1.1 and HTTP/2 (ALPN).</summary>
public sealed class KestrelTransportTlsTests
{
    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task ServesHttpsWithTheVersionAsked(string version)
    {
        using X509Certificate2 certificate = KestrelOnPort.CreateCertificate();
        await using KestrelOnPort server = await KestrelOnPort.StartAsync(certificate);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString() == certificate.GetCertHashString();
        using var client = new HttpClient(handler)
        {
            BaseAddress = new Uri($"https://127.0.0.1:{server.Address.Port}"),
            DefaultRequestVersion = Version.Parse(version),
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage response = await client.GetAsync("/plain").Within();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Version.Parse(version), response.Version);
            Assert.Equal(KestrelOnPort.Hello, await response.Content.ReadAsByteArrayAsync().Within());
        }

        // A body both ways over TLS.
        var body = new GeneratedStream(8L * 1024 * 1024, seed: 9);
        using HttpResponseMessage hashed = await client.PostAsync("/hash", new StreamContent(body)).Within();
        Assert.Equal($"{8L * 1024 * 1024} {Convert.ToHexString(body.Hash())}", await hashed.Content.ReadAsStringAsync().Within());
    }
}
