using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Grpc.Reflection.V1;

namespace Annotate.Server.Tests;

/// <summary>
/// Calls of any method with the request as raw bytes (Grpc.Net.Client with a byte[] marshaller): messages no typed
/// client would send (invalid UTF-8, truncated or malformed encodings), and methods chosen from a table or from server
/// reflection rather than from generated stubs. Methods are named by path ("/package.Service/Method").
/// </summary>
internal sealed class RawCalls : IDisposable
{
    private static readonly Marshaller<byte[]> Bytes = new(b => b, b => b);
    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel;

    /// <summary>Calls over a channel of its own to <paramref name="address"/>.</summary>
    public RawCalls(string address) => (_channel, _ownsChannel) = (GrpcChannel.ForAddress(address), true);

    /// <summary>Calls over <paramref name="channel"/> (TLS, message sizes as the caller set them); the caller disposes it.</summary>
    public RawCalls(GrpcChannel channel) => _channel = channel;

    public void Dispose()
    {
        if (_ownsChannel) _channel.Dispose();
    }

    /// <summary>The method at <paramref name="path"/> ("/package.Service/Method") with requests and responses as bytes.</summary>
    public static Method<byte[], byte[]> Method(MethodType type, string path)
    {
        var slash = path.LastIndexOf('/');
        return new(type, path[1..slash], path[(slash + 1)..], Bytes, Bytes);
    }

    /// <summary>A deadline (30 seconds unless given) and, with a <paramref name="token"/>, its bearer header.</summary>
    public static CallOptions Options(string? token = null, TimeSpan? deadline = null, CancellationToken cancellationToken = default) =>
        new(token is null ? null : new Metadata { { "authorization", $"Bearer {token}" } },
            DateTime.UtcNow + (deadline ?? TimeSpan.FromSeconds(30)), cancellationToken);

    /// <summary>What a call ended with: its status, and whether any response message arrived first.</summary>
    public sealed record Outcome(StatusCode Code, string Detail, bool Answered)
    {
        public override string ToString() => $"{Code} ({Detail})";
    }

    /// <summary>
    /// Calls <paramref name="path"/> with <paramref name="request"/>. A server stream is read until its first message
    /// (then cancelled: the call was accepted) or its end.
    /// </summary>
    public async Task<Outcome> CallAsync(string path, bool serverStreaming, byte[] request, string? token, TimeSpan? deadline = null)
    {
        using var cancel = new CancellationTokenSource();
        var options = Options(token, deadline ?? TimeSpan.FromSeconds(20), cancel.Token);
        try
        {
            if (!serverStreaming)
            {
                await UnaryAsync(path, request, options);
                return new Outcome(StatusCode.OK, "", true);
            }
            using var call = _channel.CreateCallInvoker().AsyncServerStreamingCall(
                Method(MethodType.ServerStreaming, path), null, options, request);
            if (await call.ResponseStream.MoveNext(cancel.Token))
            {
                await cancel.CancelAsync();
                return new Outcome(StatusCode.OK, "", true);
            }
            return new Outcome(call.GetStatus().StatusCode, call.GetStatus().Detail, false);
        }
        catch (RpcException e)
        {
            return new Outcome(e.StatusCode, e.Status.Detail, false);
        }
    }

    /// <summary>The response of the unary method at <paramref name="path"/>; a status other than OK throws
    /// <see cref="RpcException"/>.</summary>
    public Task<byte[]> UnaryAsync(string path, byte[] request, string? token = null) => UnaryAsync(path, request, Options(token));

    private async Task<byte[]> UnaryAsync(string path, byte[] request, CallOptions options)
    {
        using var call = _channel.CreateCallInvoker().AsyncUnaryCall(Method(MethodType.Unary, path), null, options, request);
        return await call.ResponseAsync;
    }

    /// <summary>The standard health check of <paramref name="service"/> ("" for the whole server).</summary>
    public async Task<HealthCheckResponse.Types.ServingStatus> HealthAsync(string service = "") =>
        HealthCheckResponse.Parser.ParseFrom(
            await UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest { Service = service }.ToByteArray())).Status;

    /// <summary>The descriptors of every service the server lists through reflection (grpc.reflection.v1).</summary>
    public async Task<IReadOnlyList<ServiceDescriptor>> ReflectServicesAsync()
    {
        using var call = _channel.CreateCallInvoker().AsyncDuplexStreamingCall(
            Method(MethodType.DuplexStreaming, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"), null, Options());
        async Task<ServerReflectionResponse> Ask(ServerReflectionRequest request)
        {
            await call.RequestStream.WriteAsync(request.ToByteArray());
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None), "reflection ended early");
            return ServerReflectionResponse.Parser.ParseFrom(call.ResponseStream.Current);
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
