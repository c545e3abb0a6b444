using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.Grpc;

namespace Annotate.ConsoleApp;

/// <summary>
/// Keeps <see cref="ArticleState"/> in step with the server: opens Consensus.WatchArticle, takes the
/// initial views up to the caught-up marker as the whole picture, then applies each change. When the
/// stream fails or ends (server restart, network) it waits with growing backoff and opens a new watch;
/// the new initial views catch the screen up with whatever happened meanwhile.
/// </summary>
public static class ClaimWatcher
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    public static async Task RunAsync(Connection connection, ArticleState state, CancellationToken ct)
    {
        var backoff = FirstBackoff;
        while (!ct.IsCancellationRequested)
        {
            string reason, detail;
            try
            {
                await RefreshHighlightsAsync(connection, state, ct);
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
                        backoff = FirstBackoff;
                    }
                    else if (live) state.Apply(update.View);
                    else initial.Add(update.View);
                }
                (reason, detail) = ("stream ended", "the server ended the watch");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (ct.IsCancellationRequested is false)
            {
                if (e.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.NotFound)
                {
                    state.Disconnected($"{e.StatusCode}: {e.Detail} (not retrying)");
                    return;
                }
                (reason, detail) = (e.StatusCode.ToString(), e.Detail);
            }
            catch (Exception e) when (ct.IsCancellationRequested is false && e is HttpRequestException or IOException)
            {
                (reason, detail) = (e.GetType().Name, e.Message);
            }

            state.Disconnected($"reconnecting in {backoff.TotalSeconds:0.#}s ({reason})");
            state.Say($"watch interrupted: {detail}");
            try { await Task.Delay(backoff, ct); }
            catch (OperationCanceledException) { return; }
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    public static async Task RefreshHighlightsAsync(Connection connection, ArticleState state, CancellationToken ct)
    {
        var list = await connection.CallAsync(AnnotateApi.Annotations.ListHighlights,
            new ListHighlightsRequest { ArticleId = state.Article.ArticleId }, ct);
        state.SetHighlights([.. list.Highlights]);
    }
}
