using System.Buffers;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Transport;

/// <summary>Server-streaming RPCs: the handler's items written to the call as they come, a burst of them in one flush.</summary>
public static class ServerStreaming
{
    /// <summary>
    /// Most items, and most bytes, held in the response before a flush: a long catch-up goes out in bounded pieces, and a client
    /// that reads slowly still pushes back (a flush waits for HTTP/2 flow control).
    /// </summary>
    private const int MaxHeldItems = 64;
    private const int MaxHeldBytes = 64 * 1024;

    private static readonly WriteOptions Flush = new();
    private static readonly WriteOptions Hold = new(WriteFlags.BufferHint);
    private static readonly WriteOptions FlushShared = new(WriteFlags.NoCompress);
    private static readonly WriteOptions HoldShared = new(WriteFlags.BufferHint | WriteFlags.NoCompress);

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
        where TItem : class
    {
        var http = context.GetHttpContext();
        var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var call = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, stopping);
        try
        {
            var items = await mediator.Send(request, call.Token);
            await WriteAllAsync(items, writer, http.Response, call);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(
                new Status(StatusCode.Unavailable, "The server is shutting down; reconnect and resume from the last position seen."));
        }
    }

    /// <summary>
    /// Writes every item in order. Grpc.AspNetCore flushes each write as an HTTP/2 frame of its own unless the write carries
    /// <see cref="WriteFlags.BufferHint"/>: an item is written with it while the handler already has the next one (its
    /// MoveNextAsync completed at once: the rest of a commit's events, a backlog, a catch-up page), so a burst leaves in one
    /// flush; the last item of a burst flushes, and so does the item that reaches <see cref="MaxHeldItems"/> or
    /// <see cref="MaxHeldBytes"/>. The next item is asked for before the current one is written, so the handler's work
    /// overlaps the write. <see cref="SharedMessages"/> are written uncompressed; a run of them
    /// (<see cref="SharedMessages.Runs{T}"/>) is copied to the response as its frames, one copy (and one flush) for the run.
    /// </summary>
    private static async Task WriteAllAsync<TItem>(
        IAsyncEnumerable<TItem> items,
        IServerStreamWriter<TItem> writer,
        HttpResponse response,
        CancellationTokenSource call)
        where TItem : class
    {
        var body = response.BodyWriter;
        var e = items.GetAsyncEnumerator(call.Token);
        var pending = false;
        ValueTask<bool> next = default;
        try
        {
            if (!await e.MoveNextAsync()) return;
            var held = 0;
            while (true)
            {
                var item = e.Current;
                next = e.MoveNextAsync();
                pending = !next.IsCompletedSuccessfully;
                var more = !pending && next.Result;
                var hold = more && ++held < MaxHeldItems && (!body.CanGetUnflushedBytes || body.UnflushedBytes < MaxHeldBytes);
                if (!hold) held = 0;
                if (SharedMessages.FramesOf(item) is { } frames)
                {
                    // What the gRPC writer does for a message, for a run of them: the response's headers first, then the frames.
                    if (!response.HasStarted) await response.StartAsync(call.Token);
                    if (hold) body.Write(frames);
                    else await body.WriteAsync(frames, call.Token);
                }
                else
                {
                    var shared = SharedMessages.IsShared(item);
                    writer.WriteOptions = hold ? (shared ? HoldShared : Hold) : (shared ? FlushShared : Flush);
                    await writer.WriteAsync(item, call.Token);
                }
                if (!pending)
                {
                    if (!more) return;
                    continue;
                }
                pending = false;
                if (!await next) return;
            }
        }
        catch when (pending)
        {
            // The write failed while the handler was producing the next item: stop the handler and let it end before it is
            // disposed (an async iterator cannot be disposed while it runs). Its own failure then is a consequence, not news.
            pending = false;
            await call.CancelAsync();
            try
            {
                await next;
            }
            catch (Exception)
            {
            }
            throw;
        }
        finally
        {
            await e.DisposeAsync();
        }
    }
}
