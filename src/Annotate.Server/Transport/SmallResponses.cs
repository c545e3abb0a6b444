using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Annotate.Server.Transport;

/// <summary>
/// Sends a unary response that encodes to fewer than <see cref="CompressFrom"/> bytes uncompressed; larger ones keep gzip.
/// gzip cannot make such a message much smaller (its header and trailer alone take 18 bytes), while each compressed
/// response costs a fresh deflate state (about 256 KiB set up and torn down): a command's answer is about a hundred
/// bytes. A response of zero bytes (e.g. a search without hits) must go uncompressed in any case: compressed, it is a
/// gzip stream of an empty payload, which @grpc/grpc-js fails to decompress ("Failed to decompress gzip-encoded message",
/// INTERNAL on the client; the interop suite caught it).
/// </summary>
public sealed class SmallResponses : Interceptor
{
    /// <summary>Size in bytes from which a unary response is sent gzip-compressed to clients that accept gzip.</summary>
    public const int CompressFrom = 1024;

    private static readonly WriteOptions Uncompressed = new(WriteFlags.NoCompress);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var response = await continuation(request, context);
        if (response is IMessage { } message && message.CalculateSize() < CompressFrom) context.WriteOptions = Uncompressed;
        return response;
    }
}
