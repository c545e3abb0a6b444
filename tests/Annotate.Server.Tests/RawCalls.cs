using Google.Protobuf;
using Google.Protobuf.Reflection;
using NetChannel = global::Grpc.Net.Client.GrpcChannel;
using NetCode = global::Grpc.Core.StatusCode;

namespace Annotate.Server.Tests;

/// <summary>
/// Calls of any method with the request as raw bytes (Grpc.Net.Client with a byte[] marshaller): messages no typed
/// client would send, and methods chosen from a table or from server reflection rather than from generated stubs.
/// </summary>
internal sealed class RawCalls(string address) : IDisposable
{
    private static readonly global::Grpc.Core.Marshaller<byte[]> Bytes = new(b => b, b => b);
    private readonly NetChannel _channel = NetChannel.ForAddress(address);

    public void Dispose() => _channel.Dispose();

    /// <summary>What a call ended with: its status, and whether any response message arrived first.</summary>
    public sealed record Outcome(NetCode Code, string Detail, bool Answered)
    {
        public override string ToString() => $"{Code} ({Detail})";
    }

    /// <summary>
    /// Calls <paramref name="path"/> ("/package.Service/Method") with <paramref name="request"/>. A server stream is read
    /// until its first message (then cancelled: the call was accepted) or its end.
    /// </summary>
    public async Task<Outcome> CallAsync(string path, bool serverStreaming, byte[] request, string? token, TimeSpan? deadline = null)
    {
        var slash = path.LastIndexOf('/');
        var method = new global::Grpc.Core.Method<byte[], byte[]>(
            serverStreaming ? global::Grpc.Core.MethodType.ServerStreaming : global::Grpc.Core.MethodType.Unary,
            path[1..slash],
            path[(slash + 1)..],
            Bytes,
            Bytes);
        var headers = new global::Grpc.Core.Metadata();
        if (token is not null) headers.Add("authorization", $"Bearer {token}");
        using var cancel = new CancellationTokenSource();
        var options = new global::Grpc.Core.CallOptions(headers, DateTime.UtcNow + (deadline ?? TimeSpan.FromSeconds(20)), cancel.Token);
        try
        {
            if (!serverStreaming)
            {
                using var unary = _channel.CreateCallInvoker().AsyncUnaryCall(method, null, options, request);
                await unary.ResponseAsync;
                return new Outcome(NetCode.OK, "", true);
            }
            using var call = _channel.CreateCallInvoker().AsyncServerStreamingCall(method, null, options, request);
            if (await call.ResponseStream.MoveNext(cancel.Token))
            {
                await cancel.CancelAsync();
                return new Outcome(NetCode.OK, "", true);
            }
            return new Outcome(call.GetStatus().StatusCode, call.GetStatus().Detail, false);
        }
        catch (global::Grpc.Core.RpcException e)
        {
            return new Outcome(e.StatusCode, e.Status.Detail, false);
        }
    }

    /// <summary>The standard health check of <paramref name="service"/> ("" for the whole server).</summary>
    public async Task<global::Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus> HealthAsync(string service)
    {
        var outcome = await CallRawAsync(
            "/grpc.health.v1.Health/Check",
            new global::Grpc.Health.V1.HealthCheckRequest { Service = service }.ToByteArray());
        return global::Grpc.Health.V1.HealthCheckResponse.Parser.ParseFrom(outcome).Status;
    }

    private async Task<byte[]> CallRawAsync(string path, byte[] request)
    {
        var slash = path.LastIndexOf('/');
        var method = new global::Grpc.Core.Method<byte[], byte[]>(
            global::Grpc.Core.MethodType.Unary,
            path[1..slash],
            path[(slash + 1)..],
            Bytes,
            Bytes);
        using var call = _channel
            .CreateCallInvoker()
            .AsyncUnaryCall(method, null, new global::Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(20)), request);
        return await call.ResponseAsync;
    }

    /// <summary>The descriptors of every service the server lists through reflection (grpc.reflection.v1).</summary>
    public async Task<IReadOnlyList<ServiceDescriptor>> ReflectServicesAsync()
    {
        var method = new global::Grpc.Core.Method<byte[], byte[]>(
            global::Grpc.Core.MethodType.DuplexStreaming,
            "grpc.reflection.v1.ServerReflection",
            "ServerReflectionInfo",
            Bytes,
            Bytes);
        using var call = _channel
            .CreateCallInvoker()
            .AsyncDuplexStreamingCall(method, null, new global::Grpc.Core.CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)));
        async Task<global::Grpc.Reflection.V1.ServerReflectionResponse> Ask(global::Grpc.Reflection.V1.ServerReflectionRequest request)
        {
            await call.RequestStream.WriteAsync(request.ToByteArray());
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "reflection ended early");
            return global::Grpc.Reflection.V1.ServerReflectionResponse.Parser.ParseFrom(call.ResponseStream.Current);
        }

        var names = (await Ask(new() { ListServices = "" })).ListServicesResponse.Service.Select(s => s.Name).ToList();
        var files = new Dictionary<string, FileDescriptorProto>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            foreach (var bytes in (await Ask(new() { FileContainingSymbol = name })).FileDescriptorResponse.FileDescriptorProto)
            {
                var file = FileDescriptorProto.Parser.ParseFrom(bytes);
                files.TryAdd(file.Name, file);
            }
        }
        // Reflection names each file's dependencies; build them dependencies first.
        var ordered = new List<FileDescriptorProto>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        void Place(FileDescriptorProto f)
        {
            if (!placed.Add(f.Name)) return;
            foreach (var d in f.Dependency) if (files.TryGetValue(d, out var dep)) Place(dep);
            ordered.Add(f);
        }
        foreach (var f in files.Values) Place(f);
        await call.RequestStream.CompleteAsync();
        var built = FileDescriptor.BuildFromByteStrings(ordered.Select(f => f.ToByteString()));
        return built.SelectMany(f => f.Services).Where(s => names.Contains(s.FullName)).ToList();
    }
}
