using Google.Protobuf.Reflection;
using Grpc.Health.V1;
using Interop.V1;
using Microsoft.Extensions.DependencyInjection;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace Annotate.Grpc.Tests;

public sealed class HealthReflectionStartupTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public async Task Health_check_answers_for_the_server_and_each_mapped_service()
    {
        var whole = await server.Channel.UnaryAsync(Methods.HealthCheck, new HealthCheckRequest());
        var echo = await server.Channel.UnaryAsync(Methods.HealthCheck, new HealthCheckRequest { Service = "interop.v1.Echo" });
        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            server.Channel.UnaryAsync(Methods.HealthCheck, new HealthCheckRequest { Service = "nope.Nope" }));

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, whole.Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, echo.Status);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Health_watch_sends_the_status_then_each_change()
    {
        await using var host = await TestHost.StartAsync();
        using var channel = host.Channel();
        var health = host.App.Services.GetRequiredService<HealthService>();
        using var watch = channel.ServerStreaming(Methods.HealthWatch, new HealthCheckRequest { Service = "interop.v1.Echo" });

        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);

        health.SetStatus("interop.v1.Echo", HealthCheckResponse.Types.ServingStatus.NotServing);
        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, watch.ResponseStream.Current.Status);

        var checkedNow = await channel.UnaryAsync(Methods.HealthCheck, new HealthCheckRequest { Service = "interop.v1.Echo" });
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, checkedNow.Status);
    }

    [Fact]
    public async Task Health_watch_of_an_unknown_service_says_so_and_keeps_watching()
    {
        using var watch = server.Channel.ServerStreaming(Methods.HealthWatch, new HealthCheckRequest { Service = "later.Service" });

        Assert.True(await watch.ResponseStream.MoveNext());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.ServiceUnknown, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Reflection_lists_every_mapped_service()
    {
        var response = await AskV1(new V1.ServerReflectionRequest { ListServices = "" });

        Assert.Equal(
            new[] { "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "interop.v1.Echo" },
            response.ListServicesResponse.Service.Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Reflection_serves_the_file_containing_a_symbol()
    {
        var response = await AskV1(new V1.ServerReflectionRequest { FileContainingSymbol = "interop.v1.Echo" });
        var files = response.FileDescriptorResponse.FileDescriptorProto.Select(b => FileDescriptorProto.Parser.ParseFrom(b)).ToList();

        Assert.Equal("interop/v1/echo.proto", files[0].Name);
        var service = Assert.Single(files[0].Service);
        Assert.Equal("Echo", service.Name);
        Assert.Equal(["Unary", "ServerStream", "ClientStream", "Bidi"], service.Method.Select(m => m.Name));
    }

    [Fact]
    public async Task Reflection_finds_methods_and_nested_messages_and_files_by_name()
    {
        var byMethod = await AskV1(new V1.ServerReflectionRequest { FileContainingSymbol = "interop.v1.Echo.Bidi" });
        var byMessage = await AskV1(new V1.ServerReflectionRequest { FileContainingSymbol = "grpc.health.v1.HealthCheckResponse.ServingStatus" });
        var byName = await AskV1(new V1.ServerReflectionRequest { FileByFilename = "grpc/health/v1/health.proto" });
        var missing = await AskV1(new V1.ServerReflectionRequest { FileContainingSymbol = "no.Such" });

        Assert.Equal("interop/v1/echo.proto", FileDescriptorProto.Parser.ParseFrom(byMethod.FileDescriptorResponse.FileDescriptorProto[0]).Name);
        Assert.Equal("grpc/health/v1/health.proto", FileDescriptorProto.Parser.ParseFrom(byMessage.FileDescriptorResponse.FileDescriptorProto[0]).Name);
        Assert.Equal("grpc/health/v1/health.proto", FileDescriptorProto.Parser.ParseFrom(byName.FileDescriptorResponse.FileDescriptorProto[0]).Name);
        Assert.Equal((int)StatusCode.NotFound, missing.ErrorResponse.ErrorCode);
    }

    [Fact]
    public async Task Reflection_v1alpha_answers_like_v1()
    {
        using var call = server.Channel.Duplex(Methods.ReflectionV1Alpha);
        await call.RequestStream.WriteAsync(new V1Alpha.ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.WriteAsync(new V1Alpha.ServerReflectionRequest { FileContainingSymbol = "interop.v1.EchoRequest" });
        await call.RequestStream.CompleteAsync();
        var responses = new List<V1Alpha.ServerReflectionResponse>();
        await foreach (var r in call.ResponseStream.ReadAllAsync()) responses.Add(r);

        Assert.Equal(2, responses.Count);
        Assert.Contains(responses[0].ListServicesResponse.Service, s => s.Name == "interop.v1.Echo");
        Assert.Equal("interop/v1/echo.proto", FileDescriptorProto.Parser.ParseFrom(responses[1].FileDescriptorResponse.FileDescriptorProto[0]).Name);
        Assert.Equal("interop.v1.EchoRequest", responses[1].OriginalRequest.FileContainingSymbol);
    }

    private async Task<V1.ServerReflectionResponse> AskV1(V1.ServerReflectionRequest request)
    {
        using var call = server.Channel.Duplex(Methods.ReflectionV1);
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var response = call.ResponseStream.Current;
        Assert.False(await call.ResponseStream.MoveNext());
        return response;
    }

    [Fact]
    public async Task Startup_fails_naming_a_method_without_handler()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHost.StartAsync(map: app =>
            app.MapGrpcService(EchoService.Service, b => b
                .Unary(EchoService.Unary, (r, _) => Task.FromResult(new EchoResponse()))
                .ServerStreaming(EchoService.ServerStream, (_, _, _) => Task.CompletedTask)
                .Duplex(EchoService.Bidi, (_, _, _) => Task.CompletedTask))));

        Assert.Contains("/interop.v1.Echo/ClientStream", error.Message);
    }

    [Fact]
    public async Task Startup_fails_naming_a_handler_that_matches_no_method_of_the_service()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHost.StartAsync(map: app =>
            app.MapGrpcService(HealthReflection.Descriptor.Services[0], b => b
                .Unary(Methods.HealthCheck, (_, _) => Task.FromResult(new HealthCheckResponse()))
                .ServerStreaming(Methods.HealthWatch, (_, _, _) => Task.CompletedTask)
                .Unary(EchoService.Unary, (_, _) => Task.FromResult(new EchoResponse())))));

        Assert.Contains("/interop.v1.Echo/Unary", error.Message);
    }

    [Fact]
    public void Method_from_a_descriptor_with_other_message_types_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Method<StreamRequest, EchoResponse>.FromDescriptor(EchoService.Service.FindMethodByName("Unary")));

        Assert.Contains("interop.v1.Echo.Unary", error.Message);
    }
}
