using Google.Protobuf;
using Interop.V1;

namespace Annotate.Grpc.InteropClient.Tests;

/// <summary>Our client over TLS (HTTP/2 chosen by ALPN) against a grpc-js server.</summary>
public sealed class ClientOverTlsAgainstGrpcJsTests(GrpcJsTlsEchoServer server) : IClassFixture<GrpcJsTlsEchoServer>
{
    // Trusts exactly the certificate the fixture made, nothing else.
    private GrpcChannel TrustingChannel() => GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions
    {
        ServerCertificateValidation = (_, certificate, _, _) =>
            certificate is not null && certificate.GetCertHashString() == server.Certificate.GetCertHashString(),
    });

    private static CallOptions Within(int seconds) => new(Deadline: DateTime.UtcNow.AddSeconds(seconds));

    [Fact]
    public void Grpc_js_tls_server_is_addressed_with_https()
    {
        Assert.StartsWith("https://", server.Address, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_call_over_tls_to_grpc_js_echoes_the_request()
    {
        using var channel = TrustingChannel();

        var response = await channel.UnaryAsync(Echo.Unary, new EchoRequest { Message = "secure", Payload = ByteString.CopyFromUtf8("p") }, Within(10));

        Assert.Equal("secure", response.Message);
        Assert.Equal("p", response.Payload.ToStringUtf8());
    }

    [Fact]
    public async Task Duplex_call_over_tls_to_grpc_js_streams_both_ways()
    {
        using var channel = TrustingChannel();
        using var call = channel.Duplex(Echo.Bidi, Within(10));
        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = $"m{i}" });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal($"m{i}", call.ResponseStream.Current.Message);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus());
    }

    [Fact]
    public async Task Error_status_over_tls_from_grpc_js_keeps_its_code_and_message()
    {
        using var channel = TrustingChannel();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Echo.Unary,
            new EchoRequest { FailCode = (int)StatusCode.PermissionDenied, FailMessage = "Zugriff verweigert ✓" }, Within(10)));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("Zugriff verweigert ✓", error.Detail);
    }

    [Fact]
    public async Task Server_certificate_the_client_does_not_trust_fails_the_call_as_unavailable()
    {
        // No validation callback: the system's trust store does not know the self-signed certificate.
        using var channel = GrpcChannel.ForAddress(server.Address);

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Echo.Unary, new EchoRequest { Message = "x" }, Within(10)));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }
}
