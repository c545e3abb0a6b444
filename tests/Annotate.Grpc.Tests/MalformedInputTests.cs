using System.Net;
using Annotate.Testing;
using Google.Protobuf;
using Interop.V1;

namespace Annotate.Grpc.Tests;

/// <summary>
/// Requests our client never sends, built by hand on HTTP/2. Each gets the status PROTOCOL-HTTP2.md
/// and http-grpc-status-mapping.md give it, and the server keeps serving afterwards.
/// </summary>
public sealed class MalformedInputTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>, IDisposable
{
    private readonly HttpMessageInvoker _http = new(new SocketsHttpHandler());
    private const string UnaryPath = "/interop.v1.Echo/Unary";

    public void Dispose() => _http.Dispose();

    private async Task<(StatusCode Status, string Message)> SendAsync(byte[] body, Action<HttpRequestMessage>? adjust = null, string path = UnaryPath)
    {
        using var request = RawGrpc.Request(server.Host.Address, path, body);
        adjust?.Invoke(request);
        using var response = await _http.SendAsync(request, CancellationToken.None);
        return await RawGrpc.StatusAsync(response);
    }

    private async Task AssertStillServesAsync()
    {
        var response = await server.Channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = "still here" });
        Assert.Equal("still here", response.Message);
    }

    [Fact]
    public async Task Body_ending_inside_the_frame_header_is_internal()
    {
        var (status, _) = await SendAsync([0, 0, 0]);

        Assert.Equal(StatusCode.Internal, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Length_prefix_larger_than_the_body_is_internal()
    {
        var (status, message) = await SendAsync(RawGrpc.Frame([0x0A, 0x01, 0x61], declaredLength: 100));

        Assert.Equal(StatusCode.Internal, status);
        Assert.Contains("Incomplete", message);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Length_prefix_over_the_maximum_is_resource_exhausted_without_reading_the_body()
    {
        var (status, _) = await SendAsync(RawGrpc.Frame([1, 2, 3], declaredLength: 100 * 1024 * 1024));

        Assert.Equal(StatusCode.ResourceExhausted, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Compressed_flag_without_grpc_encoding_is_internal()
    {
        var (status, _) = await SendAsync(RawGrpc.Frame(new EchoRequest { Message = "x" }.ToByteArray(), compressedFlag: true));

        Assert.Equal(StatusCode.Internal, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Compressed_flag_with_garbage_gzip_is_internal()
    {
        var (status, _) = await SendAsync(RawGrpc.Frame([1, 2, 3, 4], compressedFlag: true), r => r.Headers.TryAddWithoutValidation("grpc-encoding", "gzip"));

        Assert.Equal(StatusCode.Internal, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Invalid_compressed_flag_value_is_internal()
    {
        var frame = RawGrpc.Frame(new EchoRequest().ToByteArray());
        frame[0] = 7;

        var (status, _) = await SendAsync(frame);

        Assert.Equal(StatusCode.Internal, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Garbage_protobuf_is_invalid_argument()
    {
        // A length-delimited field claiming 16 bytes with none following.
        var (status, _) = await SendAsync(RawGrpc.Frame([0x0A, 0x10, 0xFF]));

        Assert.Equal(StatusCode.InvalidArgument, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Two_messages_for_a_unary_method_is_internal()
    {
        var one = RawGrpc.Frame(new EchoRequest { Message = "a" }.ToByteArray());

        var (status, _) = await SendAsync([.. one, .. one]);

        Assert.Equal(StatusCode.Internal, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Empty_body_for_a_unary_method_is_internal()
    {
        var (status, _) = await SendAsync([]);

        Assert.Equal(StatusCode.Internal, status);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Get_with_a_body_is_refused_with_405()
    {
        using var request = RawGrpc.Request(server.Host.Address, UnaryPath, RawGrpc.Frame([]));
        request.Method = HttpMethod.Get;

        using var response = await _http.SendAsync(request, CancellationToken.None);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("POST", response.Content.Headers.Allow.Single());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Wrong_content_type_is_refused_with_415()
    {
        using var request = RawGrpc.Request(server.Host.Address, UnaryPath, RawGrpc.Frame([]), contentType: "application/json");

        using var response = await _http.SendAsync(request, CancellationToken.None);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Non_grpc_request_to_an_unknown_path_is_a_plain_404()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(server.Host.Address), "/some/page"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await _http.SendAsync(request, CancellationToken.None);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task Grpc_content_type_with_a_subtype_is_accepted()
    {
        var (status, _) = await SendAsync(RawGrpc.Frame(new EchoRequest().ToByteArray()),
            r => r.Content!.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc+proto"));

        Assert.Equal(StatusCode.OK, status);
    }

    [Fact]
    public async Task Http11_to_the_cleartext_http2_endpoint_is_not_served_and_the_server_keeps_serving()
    {
        using var request = RawGrpc.Request(server.Host.Address, UnaryPath, RawGrpc.Frame([]), version: HttpVersion.Version11);

        // Without TLS there is no protocol negotiation: Kestrel's HTTP/2-only endpoint answers an
        // HTTP/1.1 request line with a plain 400 and closes that connection.
        using var response = await _http.SendAsync(request, CancellationToken.None);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("HTTP/2 only", await response.Content.ReadAsStringAsync());
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Client_reset_mid_stream_cancels_the_handler_and_the_server_keeps_serving()
    {
        var handlerEnded = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var tokenCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(map: StatusDeadlineCancellationTests.EchoWith(
            (r, _) => Task.FromResult(new EchoResponse { Message = r.Message }),
            async (requests, responses, ctx) =>
            {
                try
                {
                    while (await requests.MoveNext(ctx.CancellationToken))
                        await responses.WriteAsync(new EchoResponse { Message = requests.Current.Message });
                    handlerEnded.TrySetResult("completed");
                }
                catch (Exception e) when (e is OperationCanceledException or IOException)
                {
                    // The read fails as the reset arrives; the call's token follows it.
                    ctx.CancellationToken.Register(() => tokenCancelled.TrySetResult());
                    handlerEnded.TrySetResult("aborted");
                    throw;
                }
            }));
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        var content = new StreamingContent();
        using var request = RawGrpc.Request(host.Address, "/interop.v1.Echo/Bidi", []);
        request.Content = content;
        content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        using var cts = new CancellationTokenSource();

        var sending = http.SendAsync(request, cts.Token);
        var stream = await content.Stream.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var whole = RawGrpc.Frame(new EchoRequest { Message = "first" }.ToByteArray());
        await stream.WriteAsync(whole);
        await stream.FlushAsync();
        using var response = await sending;
        var body = await response.Content.ReadAsStreamAsync();
        var firstAnswer = new byte[5];
        await body.ReadExactlyAsync(firstAnswer);
        // Half a frame, then RST_STREAM(CANCEL).
        await stream.WriteAsync(whole.AsMemory(0, 3));
        await stream.FlushAsync();
        await cts.CancelAsync();
        content.Done.TrySetCanceled();

        Assert.Equal("aborted", await handlerEnded.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await tokenCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the handler's token is cancelled
        using var channel = host.Channel();
        Assert.Equal("after", (await channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = "after" })).Message);
    }

    [Fact]
    public async Task Many_abandoned_streams_leave_no_handler_running()
    {
        var active = 0;
        var started = 0;
        var handlerEnded = new Signal();
        await using var host = await TestHost.StartAsync(map: StatusDeadlineCancellationTests.EchoWith(
            (r, _) => Task.FromResult(new EchoResponse { Message = r.Message }),
            async (requests, responses, ctx) =>
            {
                Interlocked.Increment(ref active);
                Interlocked.Increment(ref started);
                try
                {
                    while (await requests.MoveNext(ctx.CancellationToken))
                        await responses.WriteAsync(new EchoResponse { Message = requests.Current.Message });
                }
                finally
                {
                    Interlocked.Decrement(ref active);
                    handlerEnded.Pulse();
                }
            }));
        using var channel = host.Channel();

        var calls = new List<AsyncDuplexStreamingCall<EchoRequest, EchoResponse>>();
        for (var i = 0; i < 50; i++)
        {
            var call = channel.Duplex(EchoService.Bidi);
            await call.RequestStream.WriteAsync(new EchoRequest { Message = "x" });
            Assert.True(await call.ResponseStream.MoveNext());
            calls.Add(call);
        }
        Assert.Equal(50, Volatile.Read(ref active));
        foreach (var call in calls) call.Dispose();

        Assert.True(await handlerEnded.WaitUntilAsync(() => Volatile.Read(ref active) == 0, TimeSpan.FromSeconds(10)),
            $"{Volatile.Read(ref active)} abandoned handlers still running");
        Assert.Equal(50, Volatile.Read(ref started));
        Assert.Equal("after", (await channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = "after" })).Message);
    }

    private sealed class StreamingContent : HttpContent
    {
        public TaskCompletionSource<Stream> Stream { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            Stream.TrySetResult(stream);
            return Done.Task;
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
