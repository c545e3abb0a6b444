using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Annotate.Grpc;

public enum MethodType { Unary, ServerStreaming, ClientStreaming, DuplexStreaming }

/// <summary>A gRPC method, untyped view.</summary>
public interface IMethod
{
    /// <summary>"/package.Service/Method", the HTTP/2 :path.</summary>
    string FullName { get; }
    /// <summary>"package.Service".</summary>
    string ServiceName { get; }
    string Name { get; }
    MethodType Type { get; }
    MethodDescriptor Descriptor { get; }
}

/// <summary>A typed gRPC method built from a generated protobuf descriptor.</summary>
public sealed class Method<TRequest, TResponse> : IMethod
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private Method(MethodDescriptor descriptor)
    {
        Descriptor = descriptor;
        ServiceName = descriptor.Service.FullName;
        Name = descriptor.Name;
        FullName = "/" + ServiceName + "/" + Name;
        Type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
    }

    public string FullName { get; }
    public string ServiceName { get; }
    public string Name { get; }
    public MethodType Type { get; }
    public MethodDescriptor Descriptor { get; }

    internal static MessageParser<TRequest> RequestParser { get; } = new(() => new TRequest());
    internal static MessageParser<TResponse> ResponseParser { get; } = new(() => new TResponse());

    /// <summary>Builds the method; throws when the descriptor's message types are not TRequest/TResponse.</summary>
    public static Method<TRequest, TResponse> FromDescriptor(MethodDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.InputType.ClrType != typeof(TRequest))
            throw new ArgumentException($"Method {descriptor.FullName} takes {descriptor.InputType.FullName}, not {typeof(TRequest).Name}.", nameof(descriptor));
        if (descriptor.OutputType.ClrType != typeof(TResponse))
            throw new ArgumentException($"Method {descriptor.FullName} returns {descriptor.OutputType.FullName}, not {typeof(TResponse).Name}.", nameof(descriptor));
        return new Method<TRequest, TResponse>(descriptor);
    }

    public override string ToString() => FullName;
}
