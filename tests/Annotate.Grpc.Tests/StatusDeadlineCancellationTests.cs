using Google.Protobuf;
using Interop.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Annotate.Grpc.Tests;

public sealed class StatusDeadlineCancellationTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>
{
    /// <summary>Echo's descriptors with a custom unary and duplex handler (the other two trivially answered).</summary>
    internal static Action<WebApplication> EchoWith(
        Func<EchoRequest, ServerCallContext, Task<EchoResponse>> unary,
        Func<IAsyncStreamReader<EchoRequest>, IServerStreamWriter<EchoResponse>, ServerCallContext, Task>? duplex = null) =>
        app => app.MapGrpcService(EchoService.Service, b => b
            .Unary(EchoService.Unary, unary)
            .ServerStreaming(EchoService.ServerStream, (_, _, _) => Task.CompletedTask)
            .ClientStreaming(EchoService.ClientStream, (_, _) => Task.FromResult(new EchoResponse()))
            .Duplex(EchoService.Bidi, duplex ?? ((_, _, _) => Task.CompletedTask)));

    [Theory]
    [InlineData(StatusCode.NotFound, "héllo wörld ✓ 100% 日本語")]
    [InlineData(StatusCode.InvalidArgument, "plain ascii, with %20 and % signs")]
    [InlineData(StatusCode.PermissionDenied, "line\nbreak and \u00e9")]
    public async Task Error_status_and_message_reach_the_client_intact(StatusCode code, string message)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            server.Channel.UnaryAsync(EchoService.Unary, new EchoRequest { FailCode = (int)code, FailMessage = message }));

        Assert.Equal(code, error.StatusCode);
        Assert.Equal(message, error.Detail);
    }

    [Fact]
    public async Task Every_status_code_round_trips()
    {
        foreach (var code in Enum.GetValues<StatusCode>().Where(c => c != StatusCode.OK))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() =>
                server.Channel.UnaryAsync(EchoService.Unary, new EchoRequest { FailCode = (int)code, FailMessage = code.ToString() }));
            Assert.Equal(code, error.StatusCode);
        }
    }

    [Fact]
    public async Task Call_past_its_deadline_fails_with_deadline_exceeded()
    {
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(EchoService.Unary,
            new EchoRequest { DelayMs = 10_000 }, new CallOptions(Deadline: DateTime.UtcNow.AddMilliseconds(200))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(5), "the deadline, not the delay, ended the call");
    }

    [Fact]
    public async Task Deadline_already_passed_fails_without_waiting()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(EchoService.Unary,
            new EchoRequest(), new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(-1))));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    [Fact]
    public async Task Server_sees_the_deadline_and_its_token_fires_when_it_passes()
    {
        var observed = new TaskCompletionSource<(DateTime? Deadline, bool Cancelled)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(map: EchoWith(async (_, ctx) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                observed.TrySetResult((ctx.Deadline, true));
                throw;
            }
            return new EchoResponse();
        }));
        using var channel = host.Channel();
        var deadline = DateTime.UtcNow.AddMilliseconds(300);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync(EchoService.Unary, new EchoRequest(), new CallOptions(Deadline: deadline)));
        var (seenDeadline, cancelled) = await observed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(cancelled);
        Assert.NotNull(seenDeadline);
        Assert.InRange(seenDeadline!.Value, deadline.AddSeconds(-1), deadline.AddSeconds(1));
    }

    [Fact]
    public async Task Server_answers_deadline_exceeded_when_its_handler_runs_out_of_time()
    {
        // The client gives a long deadline of its own; the server's shorter grpc-timeout is what fires.
        await using var host = await TestHost.StartAsync(map: EchoWith(async (_, ctx) =>
        {
            await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
            return new EchoResponse();
        }));
        using var http = new HttpMessageInvoker(new SocketsHttpHandler());
        using var request = RawGrpc.Request(host.Address, "/interop.v1.Echo/Unary", RawGrpc.Frame(new EchoRequest().ToByteArray()));
        request.Headers.TryAddWithoutValidation("grpc-timeout", "200m");

        using var response = await http.SendAsync(request, CancellationToken.None);
        var (status, message) = await RawGrpc.StatusAsync(response);

        Assert.Equal(StatusCode.DeadlineExceeded, status);
        Assert.Equal("Deadline Exceeded", message);
    }

    [Fact]
    public async Task Client_cancellation_cancels_the_call_on_both_sides()
    {
        var handlerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(map: EchoWith(async (_, ctx) =>
        {
            handlerStarted.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ctx.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                handlerCancelled.TrySetResult();
                throw;
            }
            return new EchoResponse();
        }));
        using var channel = host.Channel();
        using var cts = new CancellationTokenSource();

        var call = channel.UnaryAsync(EchoService.Unary, new EchoRequest(), new CallOptions(CancellationToken: cts.Token));
        await handlerStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await handlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Disposing_a_streaming_call_cancels_the_server_handler()
    {
        var handlerCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await TestHost.StartAsync(map: EchoWith((_, _) => Task.FromResult(new EchoResponse()), async (requests, responses, ctx) =>
        {
            try
            {
                while (await requests.MoveNext(ctx.CancellationToken))
                    await responses.WriteAsync(new EchoResponse { Message = requests.Current.Message });
            }
            catch (OperationCanceledException)
            {
                handlerCancelled.TrySetResult();
                throw;
            }
            catch (IOException)
            {
                handlerCancelled.TrySetResult();
                throw;
            }
        }));
        using var channel = host.Channel();
        var call = channel.Duplex(EchoService.Bidi);
        await call.RequestStream.WriteAsync(new EchoRequest { Message = "one" });
        Assert.True(await call.ResponseStream.MoveNext());

        call.Dispose();

        await handlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
    }

    [Fact]
    public async Task Server_cancelling_the_call_surfaces_as_cancelled_on_the_client()
    {
        await using var host = await TestHost.StartAsync(map: EchoWith((_, ctx) =>
        {
            // Resets the HTTP/2 stream, as a server that gives up on a call does.
            ctx.HttpContext.Abort();
            return Task.FromResult(new EchoResponse());
        }));
        using var channel = host.Channel();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoService.Unary, new EchoRequest()));

        Assert.Contains(error.StatusCode, new[] { StatusCode.Cancelled, StatusCode.Internal });
        // The server keeps serving after that.
        Assert.Equal(StatusCode.Unimplemented, (await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync(Methods.HealthCheck, new global::Grpc.Health.V1.HealthCheckRequest()))).StatusCode);
    }

    [Fact]
    public async Task Handler_exception_is_internal_without_its_text_and_is_logged()
    {
        await using var host = await TestHost.StartAsync(map: EchoWith((_, _) =>
            throw new InvalidOperationException("secret connection string password=hunter2")));
        using var channel = host.Channel();

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoService.Unary, new EchoRequest()));

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.DoesNotContain("hunter2", error.Detail);
        Assert.Contains(host.Logs.Messages, m => m.Contains("hunter2") && m.Contains("/interop.v1.Echo/Unary"));
    }

    [Fact]
    public async Task Handler_sees_the_peer_address_and_the_method()
    {
        await using var host = await TestHost.StartAsync(map: EchoWith((_, ctx) =>
            Task.FromResult(new EchoResponse { Message = $"{ctx.Peer} {ctx.Method.FullName} {ctx.Method.Type}" })));
        using var channel = host.Channel();

        var response = await channel.UnaryAsync(EchoService.Unary, new EchoRequest());

        Assert.Matches(@"^ipv4:127\.0\.0\.1:\d+ /interop\.v1\.Echo/Unary Unary$", response.Message);
    }

    [Fact]
    public async Task Call_filter_runs_before_handlers_and_can_refuse_the_call()
    {
        await using var host = await TestHost.StartAsync(services: s => s.AddSingleton<IServerCallFilter, RequireToken>());
        using var channel = host.Channel();

        var refused = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = "x" }));
        var allowed = await channel.UnaryAsync(EchoService.Unary, new EchoRequest { Message = "x" },
            new CallOptions(Headers: new Metadata().Add("authorization", "Bearer good")));

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Equal("x", allowed.Message);
    }

    private sealed class RequireToken : IServerCallFilter
    {
        public ValueTask OnCallAsync(ServerCallContext context) =>
            context.RequestHeaders.GetValue("authorization") == "Bearer good"
                ? ValueTask.CompletedTask
                : throw new RpcException(StatusCode.Unauthenticated, "token required");
    }
}

internal static class Methods
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Health = global::Grpc.Health.V1.HealthReflection.Descriptor.Services[0];
    public static readonly Method<global::Grpc.Health.V1.HealthCheckRequest, global::Grpc.Health.V1.HealthCheckResponse> HealthCheck =
        Method<global::Grpc.Health.V1.HealthCheckRequest, global::Grpc.Health.V1.HealthCheckResponse>.FromDescriptor(Health.FindMethodByName("Check"));
    public static readonly Method<global::Grpc.Health.V1.HealthCheckRequest, global::Grpc.Health.V1.HealthCheckResponse> HealthWatch =
        Method<global::Grpc.Health.V1.HealthCheckRequest, global::Grpc.Health.V1.HealthCheckResponse>.FromDescriptor(Health.FindMethodByName("Watch"));
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Reflection = global::Grpc.Reflection.V1.ReflectionReflection.Descriptor.Services[0];
    public static readonly Method<global::Grpc.Reflection.V1.ServerReflectionRequest, global::Grpc.Reflection.V1.ServerReflectionResponse> ReflectionV1 =
        Method<global::Grpc.Reflection.V1.ServerReflectionRequest, global::Grpc.Reflection.V1.ServerReflectionResponse>.FromDescriptor(Reflection.Methods[0]);
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor ReflectionAlpha = global::Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor.Services[0];
    public static readonly Method<global::Grpc.Reflection.V1Alpha.ServerReflectionRequest, global::Grpc.Reflection.V1Alpha.ServerReflectionResponse> ReflectionV1Alpha =
        Method<global::Grpc.Reflection.V1Alpha.ServerReflectionRequest, global::Grpc.Reflection.V1Alpha.ServerReflectionResponse>.FromDescriptor(ReflectionAlpha.Methods[0]);
}
