using System.Diagnostics;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>
/// One live stream, as a console keeps it open: History.Subscribe from the start of the log, or
/// Consensus.WatchArticle of one article. After its caught-up marker it notes, for every message, the position it
/// reflects (an event's position, a claim view's last position) and when it arrived (Stopwatch ticks).
/// </summary>
internal sealed class Subscriber(bool watch, string articleId, Api api, BenchAnalyst reader)
{
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastPosition;

    public bool Watches => watch;
    public Task CaughtUp => _caughtUp.Task;
    public ulong LastPosition => (ulong)Interlocked.Read(ref _lastPosition);
    public List<(ulong Position, long At)> Deliveries { get; } = new(1 << 12);
    public string? Failure { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        var options = new CallOptions(reader.Auth, cancellationToken: stop);
        try
        {
            if (watch)
            {
                using var call = api.Consensus.WatchArticle(new WatchArticleRequest { ArticleId = articleId }, options);
                while (await call.ResponseStream.MoveNext(stop))
                {
                    var m = call.ResponseStream.Current;
                    if (m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition) Mark(m.CaughtUpPosition, caughtUp: true);
                    else if (_caughtUp.Task.IsCompleted) Mark(m.View.LastPosition, caughtUp: false);
                }
            }
            else
            {
                using var call = api.History.Subscribe(new SubscribeRequest { AfterPosition = 0 }, options);
                while (await call.ResponseStream.MoveNext(stop))
                {
                    var m = call.ResponseStream.Current;
                    if (m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition) Mark(m.CaughtUpPosition, caughtUp: true);
                    else if (_caughtUp.Task.IsCompleted) Mark(m.Event.Position, caughtUp: false);
                }
            }
            Failure = "the server ended the stream";
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException && stop.IsCancellationRequested)
        {
            // The benchmark hung up: Cancelled, or Unavailable when the hang-up of hundreds of streams aborts a
            // connection under one of them first.
        }
        catch (RpcException e)
        {
            Failure = $"{e.StatusCode}: {e.Status.Detail}";
        }
        _caughtUp.TrySetException(new InvalidOperationException(Failure ?? "stopped before catching up"));
    }

    private void Mark(ulong position, bool caughtUp)
    {
        if (caughtUp) _caughtUp.TrySetResult();
        else Deliveries.Add((position, Stopwatch.GetTimestamp()));
        if ((long)position > Interlocked.Read(ref _lastPosition)) Interlocked.Exchange(ref _lastPosition, (long)position);
    }
}
