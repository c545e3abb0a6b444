using System.Diagnostics;
using Google.Protobuf;
using Interop.V1;

namespace Annotate.Grpc.InteropClient.Tests;

/// <summary>
/// Our client against an implementation we did not write (@grpc/grpc-js): every call shape,
/// status with a non-ASCII message, deadlines, cancellation, metadata both ways (with -bin
/// and trailers), gzip requests (grpc-js servers never compress responses) and message size limits.
/// </summary>
public sealed class ClientAgainstGrpcJsTests(GrpcJsEchoServer server) : IClassFixture<GrpcJsEchoServer>
{
    private const string NonAscii = "Zugriff verweigert: Überprüfung – ошибка ✓";
    private static readonly byte[] BinaryValue = [0x00, 0xFF, 0xFE, 0x0A, 0x0D, 0x80, 0x7F, 0x20, 0x3A];

    private GrpcChannel Channel => server.Channel;

    private static CallOptions Within(int seconds, Metadata? headers = null) =>
        new(headers, DateTime.UtcNow.AddSeconds(seconds));

    [Fact]
    public async Task Unary_call_to_grpc_js_echoes_message_and_payload()
    {
        var response = await Channel.UnaryAsync(Echo.Unary,
            new EchoRequest { Message = "hello", Payload = ByteString.CopyFrom(0, 1, 255) }, Within(10));

        Assert.Equal("hello", response.Message);
        Assert.Equal(new byte[] { 0, 1, 255 }, response.Payload.ToByteArray());
        Assert.Equal(0, response.Index);
    }

    [Fact]
    public async Task Unary_call_to_grpc_js_with_empty_request_gets_empty_response()
    {
        using var call = Channel.UnaryCallAsync(Echo.Unary, new EchoRequest(), Within(10));

        Assert.Equal(new EchoResponse(), await call.ResponseAsync);
        Assert.Equal(StatusCode.OK, call.GetStatus());
    }

    [Fact]
    public async Task Server_streaming_call_to_grpc_js_receives_every_response_in_order()
    {
        using var call = Channel.ServerStreaming(Echo.ServerStream, new StreamRequest { Message = "tick", Count = 5, PayloadSize = 17 }, Within(10));

        var received = new List<EchoResponse>();
        await foreach (var response in call.ResponseStream.ReadAllAsync()) received.Add(response);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"tick {i}"), received.Select(r => r.Message));
        Assert.Equal(Enumerable.Range(0, 5), received.Select(r => r.Index));
        Assert.All(received, r => Assert.Equal(Enumerable.Repeat((byte)'a', 17), r.Payload.ToByteArray()));
        Assert.Equal(StatusCode.OK, call.GetStatus());
    }

    [Fact]
    public async Task Server_streaming_call_to_grpc_js_delivers_messages_then_the_failing_status()
    {
        using var call = Channel.ServerStreaming(Echo.ServerStream,
            new StreamRequest { Message = "m", Count = 3, FailCode = (int)StatusCode.Aborted, FailMessage = NonAscii }, Within(10));

        var received = new List<string>();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync()) received.Add(response.Message);
        });

        Assert.Equal(["m 0", "m 1", "m 2"], received);
        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal(NonAscii, error.Detail);
    }

    [Fact]
    public async Task Many_server_streamed_messages_from_grpc_js_arrive_complete()
    {
        using var call = Channel.ServerStreaming(Echo.ServerStream, new StreamRequest { Message = "bulk", Count = 500, PayloadSize = 1024 }, Within(30));

        var count = 0;
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal(count++, response.Index);
        }

        Assert.Equal(500, count);
    }

    [Fact]
    public async Task Client_streaming_call_to_grpc_js_is_answered_once_with_joined_messages()
    {
        using var call = Channel.ClientStreaming(Echo.ClientStream, Within(10));
        foreach (var (message, payload) in new[] { ("a", "1"), ("b", "22"), ("c", "333") })
            await call.RequestStream.WriteAsync(new EchoRequest { Message = message, Payload = ByteString.CopyFromUtf8(payload) });
        await call.RequestStream.CompleteAsync();

        var response = await call.ResponseAsync;

        Assert.Equal("a,b,c", response.Message);
        Assert.Equal("122333", response.Payload.ToStringUtf8());
        Assert.Equal(3, response.Index);
    }

    [Fact]
    public async Task Client_streaming_call_to_grpc_js_without_requests_is_answered_with_zero_count()
    {
        using var call = Channel.ClientStreaming(Echo.ClientStream, Within(10));
        await call.RequestStream.CompleteAsync();

        var response = await call.ResponseAsync;

        Assert.Equal(0, response.Index);
        Assert.Equal("", response.Message);
    }

    [Fact]
    public async Task Duplex_call_to_grpc_js_answers_each_request_before_the_next_is_sent()
    {
        using var call = Channel.Duplex(Echo.Bidi, Within(10));
        for (var i = 0; i < 5; i++)
        {
            // Ping-pong: proves neither side holds messages back until the stream ends.
            await call.RequestStream.WriteAsync(new EchoRequest { Message = $"ping {i}", Payload = ByteString.CopyFrom((byte)i) });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal($"ping {i}", call.ResponseStream.Current.Message);
            Assert.Equal(i, call.ResponseStream.Current.Index);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus());
    }

    [Fact]
    public async Task Duplex_call_to_grpc_js_ends_with_the_status_of_a_failing_request()
    {
        using var call = Channel.Duplex(Echo.Bidi, Within(10));
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "first" });
        await call.RequestStream.WriteAsync(new EchoRequest { FailCode = (int)StatusCode.FailedPrecondition, FailMessage = "stop here" });

        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal("first", call.ResponseStream.Current.Message);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("stop here", error.Detail);
    }

    [Fact]
    public async Task Large_duplex_streams_with_grpc_js_flow_both_ways()
    {
        // 64 x 64 KiB each way: beyond the HTTP/2 windows, so flow control must work both ways.
        using var call = Channel.Duplex(Echo.Bidi, Within(30));
        var payload = ByteString.CopyFrom(new byte[64 * 1024]);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 64; i++) await call.RequestStream.WriteAsync(new EchoRequest { Payload = payload });
            await call.RequestStream.CompleteAsync();
        });

        var count = 0;
        await foreach (var response in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal(count++, response.Index);
            Assert.Equal(payload.Length, response.Payload.Length);
        }
        await writer;

        Assert.Equal(64, count);
    }

    [Fact]
    public async Task Every_error_code_from_grpc_js_reaches_our_client_with_its_message()
    {
        foreach (var code in Enum.GetValues<StatusCode>().Where(c => c != StatusCode.OK))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() =>
                Channel.UnaryAsync(Echo.Unary, new EchoRequest { FailCode = (int)code, FailMessage = $"{code}: {NonAscii} 100%" }, Within(10)));

            Assert.Equal(code, error.StatusCode);
            Assert.Equal($"{code}: {NonAscii} 100%", error.Detail);
        }
    }

    [Fact]
    public async Task Deadline_shorter_than_the_grpc_js_delay_fails_with_deadline_exceeded()
    {
        var clock = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync(Echo.Unary,
            new EchoRequest { Message = "slow", DelayMs = 5000 }, new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(300))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the deadline did not cut the call short ({clock.Elapsed})");
    }

    [Fact]
    public async Task Delay_within_the_deadline_succeeds_against_grpc_js()
    {
        var clock = Stopwatch.StartNew();

        var response = await Channel.UnaryAsync(Echo.Unary, new EchoRequest { Message = "patient", DelayMs = 200 }, Within(10));

        Assert.Equal("patient", response.Message);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(190));
    }

    [Fact]
    public async Task Cancelling_a_server_stream_from_grpc_js_ends_it_as_cancelled_and_the_channel_stays_usable()
    {
        using var cancellation = new CancellationTokenSource();
        using var call = Channel.ServerStreaming(Echo.ServerStream, new StreamRequest { Message = "c", Count = 1000, IntervalMs = 20 },
            new CallOptions(CancellationToken: cancellation.Token));
        Assert.True(await call.ResponseStream.MoveNext());

        await cancellation.CancelAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext()) { }
        });

        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.Equal("after", (await Channel.UnaryAsync(Echo.Unary, new EchoRequest { Message = "after" }, Within(10))).Message);
    }

    private static Metadata EchoedMetadata() => new Metadata()
        .Add("x-echo-plain", "value with spaces")
        .Add("x-echo-data-bin", BinaryValue)
        .Add("x-not-echoed", "stays here");

    private static void AssertEchoed(Metadata headers, Metadata trailers)
    {
        Assert.Equal("value with spaces", headers.GetValue("x-echo-plain"));
        Assert.Equal(BinaryValue, headers.GetValueBytes("x-echo-data-bin"));
        Assert.Equal("value with spaces", trailers.GetValue("x-trailer-x-echo-plain"));
        Assert.Equal(BinaryValue, trailers.GetValueBytes("x-trailer-x-echo-data-bin"));
        Assert.Null(headers.Get("x-not-echoed"));
        Assert.Null(trailers.Get("x-trailer-x-not-echoed"));
    }

    [Fact]
    public async Task Metadata_sent_to_grpc_js_comes_back_in_headers_trailers_and_body()
    {
        using var call = Channel.UnaryCallAsync(Echo.Unary, new EchoRequest { Message = "md" }, Within(10, EchoedMetadata()));

        var response = await call.ResponseAsync;

        AssertEchoed(await call.ResponseHeadersAsync, call.GetTrailers());
        Assert.Equal(new Dictionary<string, string>
        {
            ["x-echo-plain"] = "value with spaces",
            ["x-echo-data-bin"] = Convert.ToBase64String(BinaryValue),
        }, response.Metadata);
    }

    [Fact]
    public async Task Metadata_on_a_duplex_call_to_grpc_js_comes_back_in_headers_and_trailers()
    {
        using var call = Channel.Duplex(Echo.Bidi, Within(10, EchoedMetadata()));
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "x" });
        await call.RequestStream.CompleteAsync();

        var messages = new List<string>();
        await foreach (var response in call.ResponseStream.ReadAllAsync()) messages.Add(response.Message);

        Assert.Equal(["x"], messages);
        AssertEchoed(await call.ResponseHeadersAsync, call.GetTrailers());
    }

    [Fact]
    public async Task Failed_call_to_grpc_js_still_carries_its_trailers()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync(Echo.Unary,
            new EchoRequest { FailCode = (int)StatusCode.NotFound, FailMessage = "gone" }, Within(10, EchoedMetadata())));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("value with spaces", error.Trailers.GetValue("x-trailer-x-echo-plain"));
        Assert.Equal(BinaryValue, error.Trailers.GetValueBytes("x-trailer-x-echo-data-bin"));
    }

    [Fact]
    public async Task Gzip_compressed_requests_of_every_shape_are_understood_by_grpc_js()
    {
        using var gzip = server.NewChannel(new GrpcChannelOptions { RequestCompression = "gzip" });
        var payload = ByteString.CopyFromUtf8(string.Concat(Enumerable.Repeat("annotate ", 20_000)));

        var unary = await gzip.UnaryAsync(Echo.Unary, new EchoRequest { Message = "gz", Payload = payload }, Within(10));
        Assert.Equal(payload, unary.Payload);

        using var client = gzip.ClientStreaming(Echo.ClientStream, Within(10));
        for (var i = 0; i < 3; i++) await client.RequestStream.WriteAsync(new EchoRequest { Message = "a", Payload = payload });
        await client.RequestStream.CompleteAsync();
        Assert.Equal(3 * payload.Length, (await client.ResponseAsync).Payload.Length);

        using var duplex = gzip.Duplex(Echo.Bidi, Within(10));
        await duplex.RequestStream.WriteAsync(new EchoRequest { Message = "d", Payload = payload });
        await duplex.RequestStream.CompleteAsync();
        Assert.True(await duplex.ResponseStream.MoveNext());
        Assert.Equal(payload, duplex.ResponseStream.Current.Payload);
    }

    [Fact]
    public async Task Request_over_the_grpc_js_maximum_is_refused_with_resource_exhausted()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync(Echo.Unary,
            new EchoRequest { Payload = ByteString.CopyFrom(new byte[GrpcJsEchoServer.MaxMessageSize + 1]) }, Within(30)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("still here", (await Channel.UnaryAsync(Echo.Unary, new EchoRequest { Message = "still here" }, Within(10))).Message);
    }

    [Fact]
    public async Task Response_just_under_the_grpc_js_maximum_is_received_whole()
    {
        var size = GrpcJsEchoServer.MaxMessageSize - 64;

        var response = await Channel.UnaryAsync(Echo.Unary, new EchoRequest { ResponseSize = size }, Within(30));

        Assert.Equal(size, response.Payload.Length);
        Assert.All(response.Payload, b => Assert.Equal((byte)'a', b));
    }

    [Fact]
    public async Task Response_over_our_client_maximum_fails_with_resource_exhausted()
    {
        using var small = server.NewChannel(new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            small.UnaryAsync(Echo.Unary, new EchoRequest { ResponseSize = 2000 }, Within(10)));

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }
}
