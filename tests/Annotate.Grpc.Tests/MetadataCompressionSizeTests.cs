using System.Net;
using Google.Protobuf;
using Interop.V1;

namespace Annotate.Grpc.Tests;

public sealed class MetadataCompressionSizeTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>
{
    private static readonly byte[] Binary = [0, 1, 2, 0xFE, 0xFF, 10, 13];

    private static Metadata EchoHeaders() => new Metadata()
        .Add("x-echo-text", "some value")
        .Add("x-echo-raw-bin", Binary)
        .Add("x-other", "not echoed");

    [Fact]
    public async Task Request_metadata_reaches_the_handler_ascii_and_binary()
    {
        var response = await server.Channel.UnaryAsync(EchoService.Unary, new EchoRequest(), new CallOptions(Headers: EchoHeaders()));

        Assert.Equal("some value", response.Metadata["x-echo-text"]);
        Assert.Equal(Convert.ToBase64String(Binary), response.Metadata["x-echo-raw-bin"]);
        Assert.False(response.Metadata.ContainsKey("x-other"));
    }

    [Fact]
    public async Task Response_headers_and_trailers_carry_metadata_ascii_and_binary()
    {
        using var call = server.Channel.UnaryCallAsync(EchoService.Unary, new EchoRequest(), new CallOptions(Headers: EchoHeaders()));
        var headers = await call.ResponseHeadersAsync;
        await call.ResponseAsync;
        var trailers = call.GetTrailers();

        Assert.Equal("some value", headers.GetValue("x-echo-text"));
        Assert.Equal(Binary, headers.GetValueBytes("x-echo-raw-bin"));
        Assert.Equal("some value", trailers.GetValue("x-trailer-x-echo-text"));
        Assert.Equal(Binary, trailers.GetValueBytes("x-trailer-x-echo-raw-bin"));
    }

    [Fact]
    public async Task Error_status_carries_trailers_on_the_exception()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(EchoService.Unary,
            new EchoRequest { FailCode = (int)StatusCode.Aborted, FailMessage = "x" }, new CallOptions(Headers: EchoHeaders())));

        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal(Binary, error.Trailers.GetValueBytes("x-trailer-x-echo-raw-bin"));
    }

    [Fact]
    public async Task Trailers_only_error_carries_trailers_in_the_headers()
    {
        // No response headers were written (no x-echo- metadata) and no message: the status and the
        // handler's trailers all travel in the one HEADERS frame.
        await using var host = await TestHost.StartAsync(map: StatusDeadlineCancellationTests.EchoWith((_, ctx) =>
        {
            ctx.ResponseTrailers.Add("x-reason-bin", Binary);
            throw new RpcException(StatusCode.NotFound, "gone", new Metadata().Add("x-extra", "1"));
        }));
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        using var request = RawGrpc.Request(host.Address, "/interop.v1.Echo/Unary", RawGrpc.Frame([]));
        using var response = await http.SendAsync(request, CancellationToken.None);
        await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("5", response.Headers.GetValues("grpc-status").Single());
        Assert.Equal("1", response.Headers.GetValues("x-extra").Single());
        Assert.True(response.Headers.Contains("x-reason-bin"));
        Assert.Empty(response.TrailingHeaders);

        using var channel = host.Channel();
        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoService.Unary, new EchoRequest()));
        Assert.Equal(Binary, error.Trailers.GetValueBytes("x-reason-bin"));
        Assert.Equal("1", error.Trailers.GetValue("x-extra"));
    }

    [Fact]
    public async Task Empty_binary_and_empty_ascii_request_values_reach_the_handler()
    {
        var headers = new Metadata().Add("x-echo-empty-bin", []).Add("x-echo-empty", "");

        using var call = server.Channel.UnaryCallAsync(EchoService.Unary, new EchoRequest(), new CallOptions(Headers: headers));
        var response = await call.ResponseAsync;

        Assert.Equal("", response.Metadata["x-echo-empty-bin"]);
        Assert.Equal("", response.Metadata["x-echo-empty"]);
    }

    [Fact]
    public async Task Empty_messages_survive_gzip_both_ways()
    {
        using var channel = server.Host.Channel(new GrpcChannelOptions { RequestCompression = "gzip" });

        var response = await channel.UnaryAsync(EchoService.Unary, new EchoRequest());

        Assert.Equal(new EchoResponse(), response);
    }

    [Fact]
    public async Task Without_forced_compression_the_server_answers_in_the_clients_encoding()
    {
        await using var host = await TestHost.StartAsync();
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        var message = new EchoRequest { ResponseSize = 10_000 }.ToByteArray();
        using var plain = RawGrpc.Request(host.Address, "/interop.v1.Echo/Unary", RawGrpc.Frame(message));
        plain.Headers.TryAddWithoutValidation("grpc-accept-encoding", "gzip");
        using var compressed = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            gz.Write(message);
        using var zipped = RawGrpc.Request(host.Address, "/interop.v1.Echo/Unary", RawGrpc.Frame(compressed.ToArray(), compressedFlag: true));
        zipped.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        zipped.Headers.TryAddWithoutValidation("grpc-accept-encoding", "gzip");

        using var plainResponse = await http.SendAsync(plain, CancellationToken.None);
        using var zippedResponse = await http.SendAsync(zipped, CancellationToken.None);

        Assert.False(plainResponse.Headers.Contains("grpc-encoding"));
        Assert.Equal(0, (await plainResponse.Content.ReadAsByteArrayAsync())[0]);
        Assert.Equal("gzip", zippedResponse.Headers.GetValues("grpc-encoding").Single());
        Assert.Equal(1, (await zippedResponse.Content.ReadAsByteArrayAsync())[0]);
    }

    [Fact]
    public void Metadata_refuses_invalid_keys_and_values()
    {
        var metadata = new Metadata();
        Assert.Throws<ArgumentException>(() => metadata.Add("x-a-bin", "text"));
        Assert.Throws<ArgumentException>(() => metadata.Add("x-a", [1]));
        Assert.Throws<ArgumentException>(() => metadata.Add("bad key", "v"));
        Assert.Throws<ArgumentException>(() => metadata.Add("x-a", "caf\u00e9"));
        Assert.Equal("v", metadata.Add("X-Upper", "v").GetValue("x-upper"));
    }

    [Fact]
    public async Task Gzip_compresses_requests_and_responses()
    {
        // The fixture's server compresses responses for clients that accept gzip; this client compresses requests.
        using var channel = server.Host.Channel(new GrpcChannelOptions { RequestCompression = "gzip" });
        var payload = ByteString.CopyFrom(new byte[100_000]);

        var response = await channel.UnaryAsync(EchoService.Unary, new EchoRequest { Payload = payload, ResponseSize = 200_000 });

        Assert.Equal(200_000, response.Payload.Length);
        Assert.All(response.Payload, b => Assert.Equal((byte)'a', b));
    }

    [Fact]
    public async Task Gzip_is_on_the_wire_both_ways()
    {
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        var message = new EchoRequest { ResponseSize = 50_000 }.ToByteArray();
        using var compressed = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            gz.Write(message);
        using var request = RawGrpc.Request(server.Host.Address, "/interop.v1.Echo/Unary", RawGrpc.Frame(compressed.ToArray(), compressedFlag: true));
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "gzip");

        using var response = await http.SendAsync(request, CancellationToken.None);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("gzip", response.Headers.GetValues("grpc-encoding").Single());
        Assert.Equal(1, body[0]);
        Assert.True(body.Length < 5_000, $"a 50 kB run of 'a' compresses well, got {body.Length} bytes");
        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
    }

    [Fact]
    public async Task Unsupported_request_encoding_is_unimplemented_and_names_what_is_supported()
    {
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        using var request = RawGrpc.Request(server.Host.Address, "/interop.v1.Echo/Unary", RawGrpc.Frame([1, 2, 3], compressedFlag: true));
        request.Headers.TryAddWithoutValidation("grpc-encoding", "snappy");

        using var response = await http.SendAsync(request, CancellationToken.None);
        var (status, _) = await RawGrpc.StatusAsync(response);

        Assert.Equal(StatusCode.Unimplemented, status);
        Assert.Contains("gzip", response.Headers.GetValues("grpc-accept-encoding").Single());
    }

    [Fact]
    public async Task Oversized_request_is_resource_exhausted_on_the_server()
    {
        await using var host = await TestHost.StartAsync(o => o.MaxReceiveMessageSize = 1000);
        using var channel = host.Channel();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync(EchoService.Unary, new EchoRequest { Payload = ByteString.CopyFrom(new byte[2000]) }));
        var fine = await channel.UnaryAsync(EchoService.Unary, new EchoRequest { Payload = ByteString.CopyFrom(new byte[500]) });

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(500, fine.Payload.Length);
    }

    [Fact]
    public async Task Oversized_response_is_resource_exhausted_on_either_side()
    {
        await using var host = await TestHost.StartAsync(o => o.MaxSendMessageSize = 1000);
        using var channel = host.Channel();
        using var smallReceiver = host.Channel(new GrpcChannelOptions { MaxReceiveMessageSize = 100 });

        var serverRefused = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoService.Unary, new EchoRequest { ResponseSize = 2000 }));
        var clientRefused = await Assert.ThrowsAsync<RpcException>(() => smallReceiver.UnaryAsync(EchoService.Unary, new EchoRequest { ResponseSize = 500 }));

        Assert.Equal(StatusCode.ResourceExhausted, serverRefused.StatusCode);
        Assert.Equal(StatusCode.ResourceExhausted, clientRefused.StatusCode);
    }

    [Fact]
    public async Task Oversized_request_is_refused_by_the_client_before_sending()
    {
        using var channel = server.Host.Channel(new GrpcChannelOptions { MaxSendMessageSize = 100 });

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync(EchoService.Unary, new EchoRequest { Payload = ByteString.CopyFrom(new byte[200]) }));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Unknown_service_and_unknown_method_are_unimplemented_with_http_200()
    {
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        using var unknownMethod = await http.SendAsync(RawGrpc.Request(server.Host.Address, "/interop.v1.Echo/Missing", RawGrpc.Frame([])), CancellationToken.None);
        using var unknownService = await http.SendAsync(RawGrpc.Request(server.Host.Address, "/nope.v1.Nope/Call", RawGrpc.Frame([])), CancellationToken.None);

        Assert.Equal(HttpStatusCode.OK, unknownMethod.StatusCode);
        Assert.Equal(StatusCode.Unimplemented, (await RawGrpc.StatusAsync(unknownMethod)).Status);
        Assert.Equal(StatusCode.Unimplemented, (await RawGrpc.StatusAsync(unknownService)).Status);
    }

    [Fact]
    public async Task Unknown_service_through_the_client_is_unimplemented()
    {
        await using var host = await TestHost.StartAsync(map: app => app.MapGrpcService(EchoService.Service, EchoService.Bind));
        using var channel = host.Channel();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(Methods.HealthCheck, new global::Grpc.Health.V1.HealthCheckRequest()));

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }
}
