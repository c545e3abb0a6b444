using Annotate.Contracts.V1;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Articles;
using Annotate.Domain.Errors;
using Annotate.Server.Features.Annotations;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;
using ArticleDecisions = Annotate.Domain.Articles.Article;
using DomainKind = Annotate.Domain.Events.AnchorKind;

namespace Annotate.Server.Features.Articles;

/// <summary>
/// Records a new text of an article (admin) and re-anchors, in the same append to the article's stream, the span of
/// every live highlight and claim of it and every evidence span current stances cite in it, unless already orphaned
/// (<see cref="Reanchor"/>). The spans are read from
/// the views at the article's current revision; if another revision lands between that read and the append, the
/// decision refuses (ABORTED) rather than carry spans of an older text.
/// </summary>
public static class ReviseArticle
{
    public sealed record Command(ReviseArticleRequest Request) : IRequest<ReviseArticleResponse>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, ReviseArticleResponse>
    {
        public async Task<ReviseArticleResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            Commands.RequireRequestId(r.RequestId);
            var readAt = (await views.ArticleAsync(r.ArticleId, ct)).Revision;
            var spans = await LiveSpansAsync(views, r.ArticleId, ct);
            var evidence = await CitedEvidenceAsync(views, r.ArticleId, ct);
            var result = await commands.RunAsync(
                r.RequestId,
                Streams.Article(r.ArticleId),
                r.ArticleId,
                ArticleState.Initial,
                ArticleDecisions.Evolve,
                state => state.Exists && state.Revision != readAt
                    ? DomainError.Conflict(
                        $"Article {r.ArticleId} was revised meanwhile (now revision {state.Revision}); send the revision again.")
                    : ArticleDecisions.Decide(
                        state,
                        new Domain.Articles.ReviseArticle(r.ArticleId, r.Text, r.Reason, spans, evidence),
                        commands.Context()),
                ct);
            var article = await views.ArticleAsync(r.ArticleId, ct);
            var response = new ReviseArticleResponse { Result = result, Article = GetArticle.ToProto(article, withText: false) };
            if (article.Revision > readAt)
            {
                response.Spans.AddRange(await OutcomesAsync(r.ArticleId, spans, readAt + 1, article.Revision, ct));
            }
            return response;
        }

        /// <summary>The spans a revision carries: live highlights and claims whose span is on the current text.</summary>
        public static async Task<IReadOnlyList<AnchoredSpan>> LiveSpansAsync(Views views, string articleId, CancellationToken ct)
        {
            var (highlights, _) = await views.HighlightsOfAsync(articleId, ct);
            var (claims, _) = await views.ClaimsOfAsync(articleId, ct);
            return
            [
                .. highlights.Where(h => h.Anchor is not { Orphaned: true })
                    .Select(h => new AnchoredSpan(DomainKind.Highlight, h.Id, h.Start, h.End, h.Exact, h.Prefix, h.Suffix)),
                .. claims.Where(c => c.Anchor is not { Orphaned: true })
                    .Select(c => new AnchoredSpan(DomainKind.Claim, c.ClaimId, c.Start, c.End, c.Exact, c.Prefix, c.Suffix)),
            ];
        }

        /// <summary>The evidence current stances cite in the article, not already orphaned (on any claim, of any article).</summary>
        public static async Task<IReadOnlyList<CitedEvidence>> CitedEvidenceAsync(Views views, string articleId, CancellationToken ct)
        {
            await using var session = views.QuerySession();
            var claims = await session.Query<ClaimDocument>()
                .Where(c => c.View.Evidence.Any(x => x.ArticleId == articleId))
                .ToListAsync(ct);
            return
            [
                .. claims.SelectMany(c => c.View.Evidence
                    .Where(x => x.ArticleId == articleId && x.Anchor is not { Orphaned: true })
                    .Select(x => new CitedEvidence(c.Id, x.Analyst, x.Start, x.End, x.Exact))),
            ];
        }

        /// <summary>What the revision did to each carried span, read back from the views it updated.</summary>
        private async Task<IEnumerable<SpanOutcome>> OutcomesAsync(
            string articleId, IReadOnlyList<AnchoredSpan> spans, int revision, int current, CancellationToken ct)
        {
            var (highlights, _) = await views.HighlightsOfAsync(articleId, ct);
            var (claims, _) = await views.ClaimsOfAsync(articleId, ct);
            var byId = highlights.ToDictionary(
                h => h.Id,
                h => (h.Anchor, Selector: Mapping.ToProto(h.Start, h.End, h.Exact, h.Prefix, h.Suffix)));
            foreach (var c in claims) byId[c.ClaimId] = (c.Anchor, Mapping.ToProto(c.Start, c.End, c.Exact, c.Prefix, c.Suffix));
            return spans.OrderBy(s => s.Kind).ThenBy(s => s.TargetId, StringComparer.Ordinal).Select(s =>
            {
                var outcome = new SpanOutcome
                {
                    Kind = s.Kind == DomainKind.Highlight ? AnchorKind.Highlight : AnchorKind.Claim,
                    TargetId = s.TargetId,
                    Previous = Mapping.ToProto(s.Start, s.End, s.Exact, s.Prefix, s.Suffix),
                };
                if (byId.TryGetValue(s.TargetId, out var now))
                {
                    outcome.Anchor = Mapping.ToProto(now.Anchor);
                    if (now.Anchor is { Orphaned: false, Revision: var on } && on >= revision) outcome.Selector = now.Selector;
                }
                return outcome;
            });
        }
    }

    /// <summary>A revision as WatchArticle announces it: id, revision, hash, length, when, by whom and why (GetArticle has the
    /// text and title).</summary>
    public static Contracts.V1.Article Announced(Domain.Events.ArticleRevised revised, EventStore.RecordedEvent e) => new()
    {
        ArticleId = revised.ArticleId,
        Revision = (uint)revised.Revision,
        ContentHash = revised.ContentHash.Replace("sha256:", "", StringComparison.Ordinal),
        Length = (uint)Domain.Limits.CodePoints(revised.Text),
        RevisedAt = Mapping.ToTimestamp(e.RecordedAt),
        RevisedBy = revised.RevisedBy,
        RevisionReason = revised.Reason,
    };
}

/// <summary>An article's claim index (kept in its claim stream with the spans as opened) on the current revision's text.</summary>
public static class RevisedClaims
{
    /// <summary>
    /// Each claim's current span from its view, for <see cref="Domain.Claims.ClaimIndex.OnCurrentText"/>; null on an article never
    /// revised (spans as opened are on its text). Orphaned claims map to null: their span is on an older text, so no new span on
    /// this one duplicates them. Read before the decision (which runs in the writer, where nothing is read): a revision
    /// committed in between is not seen by that one decision.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, (int Start, int End)?>?> CurrentSpansAsync(Views views, string articleId,
        CancellationToken ct)
    {
        if ((await views.ArticleAsync(articleId, ct)).Revision == 1) return null;
        var (claims, _) = await views.ClaimsOfAsync(articleId, ct);
        return claims.ToDictionary(
            c => c.ClaimId,
            c => c.Anchor is { Orphaned: true } ? null : ((int Start, int End)?)(c.Start, c.End),
            StringComparer.Ordinal);
    }
}
