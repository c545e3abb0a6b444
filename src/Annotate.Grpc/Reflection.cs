using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using V1 = global::Grpc.Reflection.V1;
using V1Alpha = global::Grpc.Reflection.V1Alpha;

namespace Annotate.Grpc;

public static class GrpcReflectionExtensions
{
    /// <summary>
    /// Maps grpc.reflection.v1.ServerReflection and its v1alpha twin. They describe every service
    /// mapped on this host (reflection included): list_services, file_by_filename and
    /// file_containing_symbol, answering with the file and all files it depends on.
    /// </summary>
    public static IEndpointConventionBuilder MapGrpcReflection(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var registry = app.ServiceProvider.GetRequiredService<GrpcServiceRegistry>();
        var v1 = V1.ReflectionReflection.Descriptor.Services[0];
        var alpha = V1Alpha.ReflectionReflection.Descriptor.Services[0];
        var a = app.MapGrpcService(v1, b => b.Duplex(
            Method<V1.ServerReflectionRequest, V1.ServerReflectionResponse>.FromDescriptor(v1.Methods[0]),
            (requests, responses, ctx) => ServeAsync(registry, requests, responses, r => r, r => r, ctx)));
        // v1alpha messages are wire-identical to v1: convert by bytes and answer with the same code.
        var b = app.MapGrpcService(alpha, b => b.Duplex(
            Method<V1Alpha.ServerReflectionRequest, V1Alpha.ServerReflectionResponse>.FromDescriptor(alpha.Methods[0]),
            (requests, responses, ctx) => ServeAsync(registry, requests, responses,
                r => V1.ServerReflectionRequest.Parser.ParseFrom(r.ToByteString()),
                r => V1Alpha.ServerReflectionResponse.Parser.ParseFrom(r.ToByteString()), ctx)));
        return new Both(a, b);
    }

    private sealed class Both(IEndpointConventionBuilder a, IEndpointConventionBuilder b) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            a.Add(convention);
            b.Add(convention);
        }
    }

    private static async Task ServeAsync<TReq, TRes>(GrpcServiceRegistry registry, IAsyncStreamReader<TReq> requests, IServerStreamWriter<TRes> responses,
        Func<TReq, V1.ServerReflectionRequest> toV1, Func<V1.ServerReflectionResponse, TRes> fromV1, ServerCallContext ctx)
    {
        while (await requests.MoveNext(ctx.CancellationToken).ConfigureAwait(false))
            await responses.WriteAsync(fromV1(Answer(registry, toV1(requests.Current))), ctx.CancellationToken).ConfigureAwait(false);
    }

    internal static V1.ServerReflectionResponse Answer(GrpcServiceRegistry registry, V1.ServerReflectionRequest request)
    {
        var response = new V1.ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        var services = registry.Services;
        switch (request.MessageRequestCase)
        {
            case V1.ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new V1.ListServiceResponse();
                foreach (var s in services) list.Service.Add(new V1.ServiceResponse { Name = s.FullName });
                response.ListServicesResponse = list;
                break;
            case V1.ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                var byName = AllFiles(services).FirstOrDefault(f => f.Name == request.FileByFilename);
                SetFile(response, byName, $"File not found: {request.FileByFilename}");
                break;
            case V1.ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                var bySymbol = AllFiles(services).FirstOrDefault(f => Defines(f, request.FileContainingSymbol));
                SetFile(response, bySymbol, $"Symbol not found: {request.FileContainingSymbol}");
                break;
            default:
                response.ErrorResponse = new V1.ErrorResponse { ErrorCode = (int)StatusCode.Unimplemented, ErrorMessage = $"{request.MessageRequestCase} is not supported" };
                break;
        }
        return response;
    }

    private static void SetFile(V1.ServerReflectionResponse response, FileDescriptor? file, string notFound)
    {
        if (file is null)
        {
            response.ErrorResponse = new V1.ErrorResponse { ErrorCode = (int)StatusCode.NotFound, ErrorMessage = notFound };
            return;
        }
        // The file first, then every file it depends on (transitively), each once.
        var result = new V1.FileDescriptorResponse();
        foreach (var f in WithDependencies(file)) result.FileDescriptorProto.Add(f.SerializedData);
        response.FileDescriptorResponse = result;
    }

    private static IEnumerable<FileDescriptor> AllFiles(IEnumerable<ServiceDescriptor> services)
    {
        var seen = new HashSet<string>();
        foreach (var s in services)
            foreach (var f in WithDependencies(s.File))
                if (seen.Add(f.Name)) yield return f;
    }

    private static List<FileDescriptor> WithDependencies(FileDescriptor root)
    {
        var result = new List<FileDescriptor>();
        var seen = new HashSet<string>();
        var pending = new Stack<FileDescriptor>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var f = pending.Pop();
            if (!seen.Add(f.Name)) continue;
            result.Add(f);
            foreach (var d in f.Dependencies) pending.Push(d);
        }
        return result;
    }

    private static bool Defines(FileDescriptor file, string symbol)
    {
        foreach (var s in file.Services)
        {
            if (s.FullName == symbol) return true;
            foreach (var m in s.Methods) if (m.FullName == symbol) return true;
        }
        foreach (var e in file.EnumTypes) if (e.FullName == symbol) return true;
        foreach (var m in file.MessageTypes) if (DefinesIn(m, symbol)) return true;
        return false;
    }

    private static bool DefinesIn(MessageDescriptor message, string symbol)
    {
        if (message.FullName == symbol) return true;
        foreach (var f in message.Fields.InDeclarationOrder()) if (f.FullName == symbol) return true;
        foreach (var e in message.EnumTypes) if (e.FullName == symbol) return true;
        foreach (var n in message.NestedTypes) if (DefinesIn(n, symbol)) return true;
        return false;
    }
}
