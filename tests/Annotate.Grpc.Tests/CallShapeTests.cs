using Google.Protobuf;
using Interop.V1;

namespace Annotate.Grpc.Tests;

public sealed class CallShapeTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>
{
    private GrpcChannel Channel => server.Channel;

    [Fact]
    public async Task Unary_call_echoes_message_and_payload()
    {
        var response = await Channel.UnaryAsync(EchoService.Unary,
            new EchoRequest { Message = "hello", Payload = ByteString.CopyFrom(1, 2, 3) });

        Assert.Equal("hello", response.Message);
        Assert.Equal(new byte[] { 1, 2, 3 }, response.Payload.ToByteArray());
    }

    [Fact]
    public async Task Unary_call_object_exposes_status_and_trailers_after_the_response()
    {
        using var call = Channel.UnaryCallAsync(EchoService.Unary, new EchoRequest { Message = "x" });
        var response = await call.ResponseAsync;

        Assert.Equal("x", response.Message);
        Assert.Equal(StatusCode.OK, call.GetStatus());
        Assert.NotNull(call.GetTrailers());
    }

    [Fact]
    public async Task Many_concurrent_unary_calls_share_the_channel()
    {
        var calls = Enumerable.Range(0, 200).Select(i => Channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = $"m{i}" }));

        var responses = await Task.WhenAll(calls);

        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}"), responses.Select(r => r.Message));
    }

    [Fact]
    public async Task Server_streaming_call_delivers_every_message_in_order()
    {
        using var call = Channel.ServerStreaming(EchoService.ServerStream, new StreamRequest { Message = "s", Count = 5, PayloadSize = 10 });

        var received = new List<EchoResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync()) received.Add(r);

        Assert.Equal(["s 0", "s 1", "s 2", "s 3", "s 4"], received.Select(r => r.Message));
        Assert.Equal([0, 1, 2, 3, 4], received.Select(r => r.Index));
        Assert.All(received, r => Assert.Equal(10, r.Payload.Length));
        Assert.Equal(StatusCode.OK, call.GetStatus());
    }

    [Fact]
    public async Task Server_streaming_call_that_ends_with_an_error_delivers_messages_then_throws()
    {
        using var call = Channel.ServerStream(new StreamRequest { Message = "s", Count = 2, FailCode = (int)StatusCode.Aborted, FailMessage = "stopped" });

        Assert.True(await call.ResponseStream.MoveNext());
        Assert.True(await call.ResponseStream.MoveNext());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());

        Assert.Equal(StatusCode.Aborted, error.StatusCode);
        Assert.Equal("stopped", error.Detail);
        Assert.Equal(StatusCode.Aborted, call.GetStatus());
    }

    [Fact]
    public async Task Client_streaming_call_joins_all_requests()
    {
        using var call = Channel.ClientStreaming(EchoService.ClientStream);
        foreach (var m in new[] { "a", "b", "c" })
            await call.RequestStream.WriteAsync(new EchoRequest { Message = m, Payload = ByteString.CopyFromUtf8(m) });
        await call.RequestStream.CompleteAsync();

        var response = await call.ResponseAsync;

        Assert.Equal("a,b,c", response.Message);
        Assert.Equal("abc", response.Payload.ToStringUtf8());
        Assert.Equal(3, response.Index);
    }

    [Fact]
    public async Task Client_streaming_call_with_no_requests_gets_an_empty_answer()
    {
        using var call = Channel.ClientStreaming(EchoService.ClientStream);
        await call.RequestStream.CompleteAsync();

        var response = await call.ResponseAsync;

        Assert.Equal(0, response.Index);
    }

    [Fact]
    public async Task Duplex_call_answers_each_request_as_it_arrives()
    {
        using var call = Channel.Duplex(EchoService.Bidi);
        for (var i = 0; i < 3; i++)
        {
            // One request, then its answer, before the next: proves messages are not held back.
            await call.RequestStream.WriteAsync(new EchoRequest { Message = $"d{i}" });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal($"d{i}", call.ResponseStream.Current.Message);
            Assert.Equal(i, call.ResponseStream.Current.Index);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus());
    }

    [Fact]
    public async Task Duplex_call_ends_with_the_status_of_a_failing_request()
    {
        using var call = Channel.Duplex(EchoService.Bidi);
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "ok" });
        await call.RequestStream.WriteAsync(new EchoRequest { FailCode = (int)StatusCode.FailedPrecondition, FailMessage = "nope" });

        Assert.True(await call.ResponseStream.MoveNext());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("nope", error.Detail);
    }

    [Fact]
    public async Task Writing_after_the_server_ended_the_call_reports_its_status()
    {
        using var call = Channel.Duplex(EchoService.Bidi);
        await call.RequestStream.WriteAsync(new EchoRequest { FailCode = (int)StatusCode.OutOfRange, FailMessage = "enough" });
        var ended = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());

        var write = await Assert.ThrowsAsync<RpcException>(() => call.RequestStream.WriteAsync(new EchoRequest()));

        Assert.Equal(StatusCode.OutOfRange, ended.StatusCode);
        Assert.Equal(StatusCode.OutOfRange, write.StatusCode);
        Assert.Equal("enough", write.Detail);
    }

    [Fact]
    public async Task Large_streams_flow_with_backpressure()
    {
        // 64 x 64 KiB each way: more than the HTTP/2 windows, so flow control must work both ways.
        using var call = Channel.Duplex(EchoService.Bidi);
        var payload = ByteString.CopyFrom(new byte[64 * 1024]);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 64; i++) await call.RequestStream.WriteAsync(new EchoRequest { Payload = payload });
            await call.RequestStream.CompleteAsync();
        });

        var count = 0;
        await foreach (var r in call.ResponseStream.ReadAllAsync())
        {
            Assert.Equal(count++, r.Index);
            Assert.Equal(payload.Length, r.Payload.Length);
        }
        await writer;

        Assert.Equal(64, count);
    }
}

internal static class EchoChannelExtensions
{
    public static AsyncServerStreamingCall<EchoResponse> ServerStream(this GrpcChannel channel, StreamRequest request, CallOptions options = default) =>
        channel.ServerStreaming(EchoService.ServerStream, request, options);
}
