using Annotate.Grpc;
using Google.Protobuf;
using Interop.V1;

namespace Annotate.Grpc.Tests;

/// <summary>interop.v1.Echo, exactly as echo.proto documents it: the service the transport tests call.</summary>
public static class EchoService
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Descriptor = EchoReflection.Descriptor.Services[0];
    public static readonly Method<EchoRequest, EchoResponse> Unary = Method<EchoRequest, EchoResponse>.FromDescriptor(Descriptor.FindMethodByName("Unary"));
    public static readonly Method<StreamRequest, EchoResponse> ServerStream = Method<StreamRequest, EchoResponse>.FromDescriptor(Descriptor.FindMethodByName("ServerStream"));
    public static readonly Method<EchoRequest, EchoResponse> ClientStream = Method<EchoRequest, EchoResponse>.FromDescriptor(Descriptor.FindMethodByName("ClientStream"));
    public static readonly Method<EchoRequest, EchoResponse> Bidi = Method<EchoRequest, EchoResponse>.FromDescriptor(Descriptor.FindMethodByName("Bidi"));

    public static Google.Protobuf.Reflection.ServiceDescriptor Service => Descriptor;

    public static void Bind(ServiceBinder binder) => binder
        .Unary(Unary, UnaryAsync)
        .ServerStreaming(ServerStream, ServerStreamAsync)
        .ClientStreaming(ClientStream, ClientStreamAsync)
        .Duplex(Bidi, BidiAsync);

    private static async Task<EchoResponse> UnaryAsync(EchoRequest request, ServerCallContext ctx)
    {
        var echoed = await EchoMetadataAsync(ctx);
        return await AnswerAsync(request, 0, echoed, ctx);
    }

    private static async Task ServerStreamAsync(StreamRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext ctx)
    {
        var echoed = await EchoMetadataAsync(ctx);
        var payload = request.PayloadSize > 0 ? ByteString.CopyFrom(Filled(request.PayloadSize)) : ByteString.Empty;
        for (var i = 0; i < request.Count; i++)
        {
            if (i > 0 && request.IntervalMs > 0) await Task.Delay(request.IntervalMs, ctx.CancellationToken);
            var response = new EchoResponse { Message = $"{request.Message} {i}", Payload = payload, Index = i };
            response.Metadata.Add(echoed);
            await responses.WriteAsync(response);
        }
        if (request.FailCode != 0) throw new RpcException((StatusCode)request.FailCode, request.FailMessage);
    }

    private static async Task<EchoResponse> ClientStreamAsync(IAsyncStreamReader<EchoRequest> requests, ServerCallContext ctx)
    {
        var echoed = await EchoMetadataAsync(ctx);
        var messages = new List<string>();
        using var payload = new MemoryStream();
        while (await requests.MoveNext(ctx.CancellationToken))
        {
            messages.Add(requests.Current.Message);
            requests.Current.Payload.WriteTo(payload);
        }
        var response = new EchoResponse { Message = string.Join(",", messages), Payload = ByteString.CopyFrom(payload.ToArray()), Index = messages.Count };
        response.Metadata.Add(echoed);
        return response;
    }

    private static async Task BidiAsync(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext ctx)
    {
        var echoed = await EchoMetadataAsync(ctx);
        var index = 0;
        while (await requests.MoveNext(ctx.CancellationToken))
            await responses.WriteAsync(await AnswerAsync(requests.Current, index++, echoed, ctx));
    }

    // Delay (bounded by deadline and cancellation), then fail or echo.
    private static async Task<EchoResponse> AnswerAsync(EchoRequest request, int index, Dictionary<string, string> echoed, ServerCallContext ctx)
    {
        if (request.DelayMs > 0) await Task.Delay(request.DelayMs, ctx.CancellationToken);
        if (request.FailCode != 0) throw new RpcException((StatusCode)request.FailCode, request.FailMessage);
        var response = new EchoResponse
        {
            Message = request.Message,
            Payload = request.ResponseSize > 0 ? ByteString.CopyFrom(Filled(request.ResponseSize)) : request.Payload,
            Index = index,
        };
        if (echoed.Count > 0) response.Metadata.Add(echoed);
        return response;
    }

    private static byte[] Filled(int size)
    {
        var bytes = new byte[size];
        bytes.AsSpan().Fill((byte)'a');
        return bytes;
    }

    // "x-echo-*" request headers go back as response headers and as "x-trailer-x-echo-*" trailers.
    private static async ValueTask<Dictionary<string, string>> EchoMetadataAsync(ServerCallContext ctx)
    {
        var echoed = new Dictionary<string, string>();
        Metadata? headers = null;
        foreach (var entry in ctx.RequestHeaders)
        {
            if (!entry.Key.StartsWith("x-echo-", StringComparison.Ordinal)) continue;
            headers ??= new Metadata();
            if (entry.IsBinary)
            {
                headers.Add(entry.Key, entry.ValueBytes);
                ctx.ResponseTrailers.Add("x-trailer-" + entry.Key, entry.ValueBytes);
                echoed[entry.Key] = Convert.ToBase64String(entry.ValueBytes);
            }
            else
            {
                headers.Add(entry.Key, entry.Value);
                ctx.ResponseTrailers.Add("x-trailer-" + entry.Key, entry.Value);
                echoed[entry.Key] = entry.Value;
            }
        }
        if (headers is not null) await ctx.WriteResponseHeadersAsync(headers);
        return echoed;
    }
}
