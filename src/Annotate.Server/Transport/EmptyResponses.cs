using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Annotate.Server.Transport;

/// <summary>
/// Sends a unary response that encodes to zero bytes (e.g. a search without hits) uncompressed. Compressed, such a
/// message is a gzip stream of an empty payload, which @grpc/grpc-js fails to decompress ("Failed to decompress
/// gzip-encoded message", INTERNAL on the client): the interop suite caught it. Every other response keeps gzip.
/// </summary>
public sealed class EmptyResponses : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var response = await continuation(request, context);
        if (response is IMessage { } message && message.CalculateSize() == 0)
        {
            context.WriteOptions = new WriteOptions(WriteFlags.NoCompress);
        }
        return response;
    }
}
