using System.Buffers;
using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Annotate.Server.Transport.Decoding;

/// <summary>
/// Request marshallers that run <see cref="WireCheck"/> before parsing and turn every parse failure (including
/// those Google.Protobuf throws as IndexOutOfRangeException or the like) into INVALID_ARGUMENT with a message
/// and no stack trace: a malformed request is the client's error, not a fault of the server.
/// </summary>
public static class StrictDecoding
{
    public static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class where TResponse : class
    {
        if (!typeof(IMessage).IsAssignableFrom(typeof(TRequest))) return method;
        var descriptor = ((IMessage)Activator.CreateInstance(typeof(TRequest))!).Descriptor;
        var marshaller = new Marshaller<TRequest>(
            method.RequestMarshaller.ContextualSerializer,
            context => (TRequest)Parse(context.PayloadAsReadOnlySequence(), descriptor));
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }

    public static IMessage Parse(ReadOnlySequence<byte> payload, MessageDescriptor descriptor)
    {
        var bytes = payload.IsSingleSegment ? payload.First : payload.ToArray();
        if (WireCheck.Validate(bytes.Span, descriptor) is { } error)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The request is not a valid {descriptor.FullName}: {error}."));
        }
        try
        {
            return descriptor.Parser.ParseFrom(bytes.Span);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var why = e is InvalidProtocolBufferException ? e.Message : "it cannot be parsed";
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"The request is not a valid {descriptor.FullName}: {why}"));
        }
    }
}

/// <summary>
/// Binds the methods of a generated service (as Grpc.AspNetCore's own provider does, through the service's
/// BindService) with <see cref="StrictDecoding"/> request marshallers, and server-streaming methods with a response
/// marshaller that sends <see cref="SharedMessages"/> from their bytes. It replaces Grpc.AspNetCore's provider, so every
/// service of the server, health and reflection included, decodes strictly.
/// </summary>
public sealed class ValidatingServiceMethodProvider<TService> : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        for (var type = typeof(TService); type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is not { } bind)
                continue;
            var method =
                bind.BindType.GetMethod(bind.BindMethodName, BindingFlags.Public | BindingFlags.Static, [typeof(ServiceBinderBase), type])
                ?? throw new InvalidOperationException($"{bind.BindType} has no {bind.BindMethodName}(ServiceBinderBase, {type.Name}).");
            method.Invoke(null, [new Binder(context), null]);
            return;
        }
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(
            Method<TRequest, TResponse> method,
            UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Find<UnaryServerMethod<TService, TRequest, TResponse>>(
                method.Name,
                typeof(TRequest),
                typeof(ServerCallContext));
            context.AddUnaryMethod(StrictDecoding.Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(
            Method<TRequest, TResponse> method,
            ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Find<ServerStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name,
                typeof(TRequest),
                typeof(IServerStreamWriter<TResponse>),
                typeof(ServerCallContext));
            context.AddServerStreamingMethod(SharedMessages.Sendable(StrictDecoding.Strict(method)), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(
            Method<TRequest, TResponse> method,
            ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Find<ClientStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name,
                typeof(IAsyncStreamReader<TRequest>),
                typeof(ServerCallContext));
            context.AddClientStreamingMethod(StrictDecoding.Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(
            Method<TRequest, TResponse> method,
            DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Find<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(
                method.Name,
                typeof(IAsyncStreamReader<TRequest>),
                typeof(IServerStreamWriter<TResponse>),
                typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(StrictDecoding.Strict(method), metadata, invoker);
        }

        /// <summary>The service's method as an open delegate (the service instance comes per call), and its attributes and its class's as
        /// endpoint metadata.</summary>
        private static (TDelegate Invoker, List<object> Metadata) Find<TDelegate>(string name, params Type[] parameters)
            where TDelegate : Delegate
        {
            var method = typeof(TService).GetMethod(name, BindingFlags.Public | BindingFlags.Instance, parameters)
                ?? throw new InvalidOperationException($"{typeof(TService)} has no method {name}.");
            var metadata = typeof(TService).GetCustomAttributes(inherit: true).Concat(method.GetCustomAttributes(inherit: true)).ToList();
            return (method.CreateDelegate<TDelegate>(), metadata);
        }
    }
}

public static class ValidatingServiceMethodProvider
{
    /// <summary>Replaces Grpc.AspNetCore's provider (registered by AddGrpc) with the validating one; fails loudly if it is not
    /// found.</summary>
    public static void ReplaceDefault(IServiceCollection services)
    {
        var defaults = services
            .Where(d =>
                d.ServiceType == typeof(IServiceMethodProvider<>)
                && d.ImplementationType is { Name: var name }
                && name.StartsWith("BinderServiceMethodProvider", StringComparison.Ordinal))
            .ToList();
        if (defaults.Count != 1)
        {
            throw new InvalidOperationException(
                $"Expected Grpc.AspNetCore's BinderServiceMethodProvider once after AddGrpc, found {defaults.Count}.");
        }

        services.Remove(defaults[0]);
        services.TryAddEnumerable(
            Microsoft.Extensions.DependencyInjection.ServiceDescriptor.Singleton(
                typeof(IServiceMethodProvider<>),
                typeof(ValidatingServiceMethodProvider<>)));
    }
}
