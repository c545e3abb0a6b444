using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Annotate.Contracts.V1;
using Annotate.Testing;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace Annotate.Server.Tests;

/// <summary>The server's endpoints as configured from outside: TLS through Kestrel's configuration, gRPC-Web when asked for.</summary>
public sealed class EndpointTests
{
    /// <summary>A fresh database for each server of this class, so each creates its first admin and writes its token.</summary>
    private static async Task<string> NewDatabaseAsync() => await (await PostgresServer.SharedAsync()).CreateDatabaseAsync("endpoint");

    [Fact]
    public async Task Tls_from_kestrel_configuration_serves_grpc_over_http2()
    {
        var dir = Directory.CreateTempSubdirectory("annotate-tls-").FullName;
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            await File.WriteAllTextAsync(Path.Combine(dir, "server.crt"), certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(dir, "server.key"), key.ExportPkcs8PrivateKeyPem());

            var address = $"https://127.0.0.1:{ServerProcess.FreePort()}";
            var tokenFile = Path.Combine(dir, "admin-token");
            using var server = ServerProcess.Start([
                $"--Kestrel:Endpoints:Grpc:Url={address}", $"--Kestrel:Endpoints:Grpc:Certificate:Path={Path.Combine(dir, "server.crt")}",
                $"--Kestrel:Endpoints:Grpc:Certificate:KeyPath={Path.Combine(dir, "server.key")}",
                    "--Kestrel:Endpoints:Grpc:Protocols=Http2",
                $"--ConnectionStrings:Annotate={await NewDatabaseAsync()}", $"--Annotate:AdminTokenFile={tokenFile}",
            ]);
            await server.WaitForOutputAsync($"Annotate listening on {address}");

            var thumbprint = certificate.Thumbprint;
            using var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
                cert is not null && cert.GetCertHashString() == thumbprint;
            using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
            var me = await new Admin.AdminClient(channel).WhoAmIAsync(
                new WhoAmIRequest(), RawCalls.Options((await File.ReadAllTextAsync(tokenFile)).Trim()));
            Assert.Equal("admin", me.AnalystId);
            using var raw = new RawCalls(channel);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await raw.HealthAsync());
            Assert.Equal(0, await server.TerminateAsync());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Grpc_web_answers_on_the_configured_http1_endpoint_with_a_token()
    {
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var web = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
        using var server = ServerProcess.Start(["--urls", address, $"--Annotate:WebUrls={web}",
            $"--ConnectionStrings:Annotate={await NewDatabaseAsync()}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        try
        {
            await server.WaitForOutputAsync($"gRPC-Web listening on {web}");
            var token = (await File.ReadAllTextAsync(tokenFile)).Trim();

            using var http = new HttpClient { DefaultRequestVersion = HttpVersion.Version11 };
            var (status, message, body) = await GrpcWebAsync(
                http, $"{web}/annotate.v1.Admin/WhoAmI", new WhoAmIRequest().ToByteArray(), token);
            Assert.True(status == 0, $"grpc-status {status}: {message}");
            Assert.Equal("admin", Analyst.Parser.ParseFrom(body).AnalystId);

            // Refusals come as gRPC statuses with their message, not as bare HTTP errors.
            (status, message, _) = await GrpcWebAsync(http, $"{web}/annotate.v1.Admin/WhoAmI", new WhoAmIRequest().ToByteArray(), null);
            Assert.Equal((int)StatusCode.Unauthenticated, status);
            Assert.Contains("token", message, StringComparison.Ordinal);
            Assert.Equal(0, await server.TerminateAsync());
        }
        finally
        {
            File.Delete(tokenFile);
        }
    }

    /// <summary>One gRPC-Web call (binary, HTTP/1.1): the status and message from the trailers (or headers), and the first
    /// message.</summary>
    private static async Task<(int Status, string Message, byte[] Body)> GrpcWebAsync(
        HttpClient http, string url, byte[] request, string? token)
    {
        using var content = new ByteArrayContent([0, .. BigEndian(request.Length), .. request]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc-web+proto");
        using var post = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        if (token is not null) post.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers) fields[name] = string.Join(",", values);
        byte[] body = [];
        for (var at = 0; at + 5 <= bytes.Length;)
        {
            var length = (bytes[at + 1] << 24) | (bytes[at + 2] << 16) | (bytes[at + 3] << 8) | bytes[at + 4];
            var frame = bytes[(at + 5)..(at + 5 + length)];
            if ((bytes[at] & 0x80) == 0)
            {
                body = frame;
            }
            else
            {
                foreach (var line in System.Text.Encoding.ASCII.GetString(frame).Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
            }
            at += 5 + length;
        }
        return (int.Parse(fields["grpc-status"], System.Globalization.CultureInfo.InvariantCulture),
            Uri.UnescapeDataString(fields.GetValueOrDefault("grpc-message", "")), body);
    }

    private static byte[] BigEndian(int n) => [(byte)(n >> 24), (byte)(n >> 16), (byte)(n >> 8), (byte)n];
}
