using System.Globalization;
using Annotate.Client;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.ConsoleApp;

/// <summary>
/// Keeps <see cref="ArticleState"/> in step with the server through two resumable streams of
/// <see cref="AnnotateClient"/> (each reopened with growing backoff after a server restart or a network failure):
/// - Consensus.WatchArticle: the views up to the first caught-up marker replace the whole picture; after that every
///   view is a change (a reopened watch passes only views newer than the ones shown, then another marker);
/// - History.Subscribe filtered to the article, resumed after the last position seen: any highlight event reloads
///   the highlights (the claim views do not carry them);
/// - a revision (announced by the watch, or seen in a claim view's anchor) reloads the text and the highlights together.
/// </summary>
public static class Watchers
{
    public static Task RunAsync(AnnotateClient client, ArticleState state, CancellationToken ct) => Task.WhenAll(
        WatchClaimsAsync(client, state, ct),
        WatchHighlightsAsync(client, state, ct));

    public static async Task RefreshHighlightsAsync(AnnotateClient client, ArticleState state, CancellationToken ct)
    {
        var list = await client.ListHighlightsAsync(new ListHighlightsRequest { ArticleId = state.Article.ArticleId }, ct);
        state.SetHighlights([.. list.Highlights], list.AsOfPosition);
    }

    /// <summary>
    /// Reloads the highlights after a highlight event. The history stream can announce the event before the
    /// highlights view has projected it (and the list's as_of_position is the log's head, not the view's), so
    /// the list is asked again for a short while until it differs from the one before the event: every
    /// highlight event (created, tagged, untagged, retracted) changes the list.
    /// </summary>
    private static async Task RefreshAfterEventAsync(AnnotateClient client, ArticleState state, CancellationToken ct)
    {
        var before = state.Highlights;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var list = await client.ListHighlightsAsync(new ListHighlightsRequest { ArticleId = state.Article.ArticleId }, ct);
            state.SetHighlights([.. list.Highlights], list.AsOfPosition);
            if (!list.Highlights.SequenceEqual(before)) return;
            await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
        }
    }

    private static async Task WatchClaimsAsync(AnnotateClient client, ArticleState state, CancellationToken ct)
    {
        void Reconnecting(RetryNotice n)
        {
            state.Disconnected(
                string.Create(CultureInfo.InvariantCulture, $"reconnecting in {n.Delay.TotalSeconds:0.#}s ({n.Error.StatusCode})"));
            state.Say($"watch interrupted: {n.Error.Status.Detail}");
        }

        var initial = new List<ClaimView>();
        var live = false;
        await ReadAsync(client.WatchArticleAsync(state.Article.ArticleId, ct, Reconnecting), async update =>
        {
            if (update.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition)
            {
                if (live) state.Resumed(update.CaughtUpPosition);
                else state.CaughtUp(initial, update.CaughtUpPosition);
                live = true;
            }
            else if (update.UpdateCase == WatchArticleResponse.UpdateOneofCase.Revised)
            {
                // The claims it re-anchored or orphaned follow as views: the text is fetched first, so they land on it.
                await ReloadArticleAsync(client, state, update.Revised.Revision, ct);
            }
            else if (update.UpdateCase != WatchArticleResponse.UpdateOneofCase.View)
            {
                // Replies: the console shows claims and highlights; threads are read with `annotate claim show`.
            }
            else
            {
                // A view on a revision newer than the text (the announcement missed while reconnecting, or a revision between
                // GetArticle and the watch) fetches the text too.
                if (state.IsBehind(update.View.Anchor))
                {
                    var anchor = update.View.Anchor;
                    await ReloadArticleAsync(client, state, Math.Max(anchor.Revision, anchor.OrphanedOnRevision), ct);
                }
                if (live) state.Apply(update.View);
                else initial.Add(update.View);
            }
        }, state, reportsLink: true, ct);
    }

    /// <summary>
    /// Fetches the article's text and highlights once they reflect <paramref name="revision"/> (or a later one) and shows them
    /// together. The announcement can reach this client before the server a read goes to has the revision (a read replica
    /// behind), so the reads are asked again for a short while until they reflect it: the article at that revision, and every
    /// highlight either orphaned or on it (a revision carries every live span onto its text or orphans it). A failed or still
    /// stale read keeps the old text and says so; the next view from a newer revision asks again.
    /// </summary>
    public static async Task ReloadArticleAsync(AnnotateClient client, ArticleState state, uint revision, CancellationToken ct)
    {
        var id = state.Article.ArticleId;
        try
        {
            for (var attempt = 0; attempt < 20 && revision > state.Article.Revision; attempt++)
            {
                var article = await client.GetArticleAsync(new GetArticleRequest { ArticleId = id }, ct);
                var list = await client.ListHighlightsAsync(new ListHighlightsRequest { ArticleId = id }, ct);
                var settled = list.Highlights.All(h =>
                    h.Anchor is null || h.Anchor.Status == AnchorStatus.Orphaned || h.Anchor.Revision >= article.Revision);
                if (article.Revision >= revision && settled)
                {
                    state.Revised(article, [.. list.Highlights], list.AsOfPosition);
                    return;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
            }
            if (revision > state.Article.Revision) state.Say($"revision {revision} of the article is not readable yet");
        }
        catch (RpcException e) when (!ct.IsCancellationRequested)
        {
            state.Say($"revision {revision} of the article not loaded: {e.StatusCode}");
        }
    }

    private static async Task WatchHighlightsAsync(AnnotateClient client, ArticleState state, CancellationToken ct)
    {
        try { await RefreshHighlightsAsync(client, state, ct); }
        catch (Exception) when (ct.IsCancellationRequested) { return; }
        catch (RpcException) { } // the subscription below reloads them after any highlight event once the server answers
        var filter = new EventFilter { ArticleId = state.Article.ArticleId };
        await ReadAsync(client.SubscribeAsync(state.HighlightsPosition, filter, ct), async item =>
        {
            if (
                item.ItemCase != SubscribeResponse.ItemOneofCase.Event
                || !item.Event.StreamId.StartsWith("highlight-", StringComparison.Ordinal))
            {
                return;
            }

            try
            {
                await RefreshAfterEventAsync(client, state, ct);
            }
            catch (RpcException e) when (!ct.IsCancellationRequested)
            {
                state.Say($"highlights not reloaded: {e.StatusCode}"); // the next highlight event reloads them
            }
        }, state, reportsLink: false, ct);
    }

    /// <summary>
    /// Feeds <paramref name="items"/> to <paramref name="apply"/> until the user leaves the article; a refusal the
    /// stream does not reopen after (token revoked, article gone) ends the watch and, for the claims, says so.
    /// </summary>
    private static async Task ReadAsync<T>(
        IAsyncEnumerable<T> items,
        Func<T, Task> apply,
        ArticleState state,
        bool reportsLink,
        CancellationToken ct)
    {
        try
        {
            await foreach (var item in items) await apply(item);
        }
        catch (Exception) when (ct.IsCancellationRequested)
        {
            // leaving the article: the cancelled call surfaces as RpcException(Cancelled) or OperationCanceledException
        }
        catch (RpcException e)
        {
            if (reportsLink) state.Disconnected($"{e.StatusCode}: {e.Status.Detail} (not retrying)");
        }
    }
}
