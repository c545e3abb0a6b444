using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.Grpc;

namespace Annotate.ConsoleApp;

/// <summary>
/// Keeps <see cref="ArticleState"/> in step with the server through two streams, each re-opened with
/// growing backoff whenever it fails or ends (server restart, network):
/// - Consensus.WatchArticle: the initial views up to the caught-up marker replace the whole picture
///   (so a reconnect catches up with whatever happened meanwhile), then each changed view is applied;
/// - History.Subscribe filtered to the article, resumed after the last position seen: any highlight
///   event reloads the highlights (the claim views do not carry them).
/// </summary>
public static class Watchers
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    public static Task RunAsync(Connection connection, ArticleState state, CancellationToken ct) => Task.WhenAll(
        KeepOpenAsync(ct => WatchClaimsAsync(connection, state, ct), state, reportsLink: true, ct),
        KeepOpenAsync(ct => WatchHighlightsAsync(connection, state, ct), state, reportsLink: false, ct));

    public static async Task RefreshHighlightsAsync(Connection connection, ArticleState state, CancellationToken ct)
    {
        var list = await connection.CallAsync(AnnotateApi.Annotations.ListHighlights,
            new ListHighlightsRequest { ArticleId = state.Article.ArticleId }, ct);
        state.SetHighlights([.. list.Highlights], list.AsOfPosition);
    }

    /// <summary>
    /// Reloads the highlights after a highlight event. The history stream can announce the event before the
    /// highlights view has projected it (and the list's as_of_position is the log's head, not the view's), so
    /// the list is asked again for a short while until it differs from the one before the event: every
    /// highlight event (created, tagged, untagged, retracted) changes the list.
    /// </summary>
    private static async Task RefreshAfterEventAsync(Connection connection, ArticleState state, CancellationToken ct)
    {
        var before = state.Highlights;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var list = await connection.CallAsync(AnnotateApi.Annotations.ListHighlights,
                new ListHighlightsRequest { ArticleId = state.Article.ArticleId }, ct);
            state.SetHighlights([.. list.Highlights], list.AsOfPosition);
            if (!list.Highlights.SequenceEqual(before)) return;
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }

    /// <summary>Runs <paramref name="stream"/> again and again until cancelled; it returns true once it got going.</summary>
    private static async Task KeepOpenAsync(Func<CancellationToken, Task<bool>> stream, ArticleState state, bool reportsLink, CancellationToken ct)
    {
        var backoff = FirstBackoff;
        while (!ct.IsCancellationRequested)
        {
            string reason, detail;
            try
            {
                if (await stream(ct)) backoff = FirstBackoff;
                (reason, detail) = ("stream ended", "the server ended the stream");
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                return; // leaving the article: the cancelled call surfaces as RpcException(Cancelled) or OperationCanceledException
            }
            catch (RpcException e)
            {
                if (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.NotFound)
                {
                    if (reportsLink) state.Disconnected($"{e.StatusCode}: {e.Detail} (not retrying)");
                    return;
                }
                (reason, detail) = (e.StatusCode.ToString(), e.Detail);
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                (reason, detail) = (e.GetType().Name, e.Message);
            }

            if (reportsLink)
            {
                state.Disconnected($"reconnecting in {backoff.TotalSeconds:0.#}s ({reason})");
                state.Say($"watch interrupted: {detail}");
            }
            try { await Task.Delay(backoff, ct); }
            catch (OperationCanceledException) { return; }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    private static async Task<bool> WatchClaimsAsync(Connection connection, ArticleState state, CancellationToken ct)
    {
        using var call = connection.Channel.ServerStreaming(AnnotateApi.Consensus.WatchArticle,
            new WatchArticleRequest { ArticleId = state.Article.ArticleId }, connection.Options(ct, stream: true));
        var initial = new List<ClaimView>();
        var live = false;
        await foreach (var update in call.ResponseStream.ReadAllAsync(ct))
        {
            if (update.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition)
            {
                state.CaughtUp(initial, update.CaughtUpPosition);
                live = true;
            }
            else if (live) state.Apply(update.View);
            else initial.Add(update.View);
        }
        return live;
    }

    private static async Task<bool> WatchHighlightsAsync(Connection connection, ArticleState state, CancellationToken ct)
    {
        await RefreshHighlightsAsync(connection, state, ct);
        var request = new SubscribeRequest { AfterPosition = state.HighlightsPosition, Filter = new EventFilter { ArticleId = state.Article.ArticleId } };
        using var call = connection.Channel.ServerStreaming(AnnotateApi.History.Subscribe, request, connection.Options(ct, stream: true));
        await foreach (var item in call.ResponseStream.ReadAllAsync(ct))
        {
            if (item.ItemCase == SubscribeResponse.ItemOneofCase.Event && item.Event.StreamId.StartsWith("highlight-", StringComparison.Ordinal))
                await RefreshAfterEventAsync(connection, state, ct);
        }
        return true;
    }
}
