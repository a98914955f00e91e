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
        if (OperatingSystem.IsWindows() && await KestrelsOwnTlsFailsHere(certificate, version) is string why)
        {
            Assert.Skip(why);
        }

        await using KestrelOnPort server = await KestrelOnPort.StartAsync(certificate);
        using HttpClient client = CreateClient(server, certificate, version);

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

    /// <summary>
    /// A control for Wine: the same request to the same app on Kestrel's own sockets transport. Wine 8.0's
    /// SChannel cannot be a TLS server whatever the transport: its AcceptSecurityContext fails with
    /// SEC_E_UNSUPPORTED_FUNCTION (0x80090302) before any handshake (seen with WINEDEBUG=+secur32 and a
    /// bare TcpListener + SslStream), and the client then sees SEC_E_INTERNAL_ERROR (0x80090304); Debian 12
    /// has no later Wine. Then the reason, else null. On real Windows the control succeeds and the test runs.
    /// </summary>
    private static async Task<string?> KestrelsOwnTlsFailsHere(X509Certificate2 certificate, string version)
    {
        await using KestrelOnPort control = await KestrelOnPort.StartAsync(certificate, kestrelSockets: true);
        using HttpClient client = CreateClient(control, certificate, version);
        try
        {
            using HttpResponseMessage response = await client.GetAsync("/plain").Within();
            return null;
        }
        catch (HttpRequestException ex) when (ex.InnerException is System.Security.Authentication.AuthenticationException)
        {
            return $"TLS server handshakes fail here with Kestrel's own sockets transport too ({ex.InnerException.InnerException?.Message}): Wine's SChannel, not the transport";
        }
    }

    private static HttpClient CreateClient(KestrelOnPort server, X509Certificate2 certificate, string version)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString() == certificate.GetCertHashString();
        return new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = new Uri($"https://127.0.0.1:{server.Address.Port}"),
            DefaultRequestVersion = Version.Parse(version),
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }
}
