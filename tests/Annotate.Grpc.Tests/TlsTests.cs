using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Interop.V1;

namespace Annotate.Grpc.Tests;

public sealed class TlsTests : IAsyncLifetime
{
    private X509Certificate2 _certificate = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _certificate = SelfSigned();
        _host = await TestHost.StartAsync(certificate: _certificate);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _certificate.Dispose();
    }

    /// <summary>A throw-away certificate for 127.0.0.1 and localhost, made in the test.</summary>
    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Re-load from PFX so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    private GrpcChannel TrustingChannel() => GrpcChannel.ForAddress(_host.Address, new GrpcChannelOptions
    {
        ServerCertificateValidation = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == _certificate.GetCertHashString(),
    });

    [Fact]
    public async Task Calls_work_over_tls_with_http2_negotiated_by_alpn()
    {
        Assert.StartsWith("https://", _host.Address);
        using var channel = TrustingChannel();

        var unary = await channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = "secure" });
        using var stream = channel.Duplex(EchoService.Bidi);
        await stream.RequestStream.WriteAsync(new EchoRequest { Message = "a" });
        await stream.RequestStream.CompleteAsync();
        Assert.True(await stream.ResponseStream.MoveNext());

        Assert.Equal("secure", unary.Message);
        Assert.Equal("a", stream.ResponseStream.Current.Message);
    }

    [Fact]
    public async Task Untrusted_certificate_fails_the_call_as_unavailable()
    {
        using var channel = GrpcChannel.ForAddress(_host.Address);

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoService.Unary, new EchoRequest()));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task Http11_over_tls_is_refused_with_426_and_the_server_keeps_serving()
    {
        using var http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
        });
        using var request = RawGrpc.Request(_host.Address, "/interop.v1.Echo/Unary", RawGrpc.Frame([]), version: HttpVersion.Version11);

        using var response = await http.SendAsync(request, CancellationToken.None);

        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        using var channel = TrustingChannel();
        Assert.Equal("ok", (await channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = "ok" })).Message);
    }
}
