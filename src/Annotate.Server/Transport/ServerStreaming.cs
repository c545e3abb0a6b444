using Grpc.Core;
using MediatR;

namespace Annotate.Server.Transport;

/// <summary>Server-streaming RPCs: the handler's items written to the call as they come.</summary>
public static class ServerStreaming
{
    /// <summary>
    /// Sends a streaming request and writes each item of the handler's sequence. Streams end when the server
    /// stops (UNAVAILABLE, so clients reconnect elsewhere or later and resume from their last position) instead
    /// of holding the shutdown until Kestrel's grace period runs out. Refusals become statuses in
    /// <see cref="ErrorInterceptor"/>.
    /// </summary>
    public static async Task StreamAsync<TItem>(
        this IMediator mediator,
        IRequest<IAsyncEnumerable<TItem>> request,
        IServerStreamWriter<TItem> writer,
        ServerCallContext context)
    {
        var stopping = context.GetHttpContext().RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
        try
        {
            var items = await mediator.Send(request, call.Token);
            await foreach (var item in items.WithCancellation(call.Token))
            {
                await writer.WriteAsync(item, call.Token);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(
                new Status(StatusCode.Unavailable, "The server is shutting down; reconnect and resume from the last position seen."));
        }
    }
}
