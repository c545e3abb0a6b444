using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using JasperFx.Events;
using JasperFx.Events.Grouping;
using Marten;
using Marten.Events.Projections;
using DomainBlindness = Annotate.Domain.Claims.Blindness;

namespace Annotate.Server.Features.Claims;

/// <summary>An article made blind for its new claims; kept by <see cref="BlindArticleProjection"/> in the append's transaction.</summary>
public sealed record BlindArticleDocument
{
    /// <summary>The article id.</summary>
    public string Id { get; init; } = "";
    public string Adjudicator { get; init; } = "";
    /// <summary>Position of the event that made the article blind: claims opened after it are blind.</summary>
    public long Position { get; init; }
}

/// <summary>
/// A claim's blindness and who may see it: blind (itself, or through its article when it was opened), revealed, and every
/// analyst who has recorded a stance on it (a withdrawal does not unsee). Kept by <see cref="BlindClaimProjection"/> in the
/// append's transaction, so a read right after a stance already shows the claim to its author.
/// </summary>
public sealed record BlindClaimDocument
{
    /// <summary>The claim id.</summary>
    public string Id { get; init; } = "";
    public bool Blind { get; init; }
    public bool BlindByArticle { get; init; }
    public bool Revealed { get; init; }
    public List<string> AnalystsWithStance { get; init; } = [];
}

public sealed class BlindArticleProjection : MultiStreamProjection<BlindArticleDocument, string>
{
    public BlindArticleProjection() => Identity<ArticleMadeBlind>(e => e.ArticleId);

    public override BlindArticleDocument? Evolve(BlindArticleDocument? snapshot, string id, IEvent e) => e.Data switch
    {
        // Made blind again: the first position stays (claims opened since then are blind).
        ArticleMadeBlind a => new BlindArticleDocument
        {
            Id = a.ArticleId,
            Adjudicator = a.Adjudicator,
            Position = snapshot?.Position ?? e.Sequence,
        },
        _ => snapshot,
    };
}

/// <summary>
/// Folds a claim's blindness, reveal and stances. A claim is blind by its article (<see cref="BlindClaimDocument.BlindByArticle"/>)
/// when the article was made blind at a position before the claim's opening. Invariant: every document equals the fold of the
/// log up to its last event, whoever folds it (the writer's inline pass of a group commit, a page of a rebuild, in any
/// batching): the batch hook decides each opening from where its article was first made blind, taken from what was stored
/// before the batch (the blind-article documents; in a rebuild, also that view's cache of the pages before) and from the
/// article-made-blind events of the batch itself, whose documents the batch has not stored yet.
/// </summary>
public sealed class BlindClaimProjection : MultiStreamProjection<BlindClaimDocument, string>
{
    // Whether a ClaimOpened opens on an article made blind before it, found by the batch hook; keyed by the event object
    // Marten hands to the hook and then to the fold.
    private readonly ConditionalWeakTable<IEvent, StrongBox<bool>> _onBlindArticle = [];

    public BlindClaimProjection()
    {
        Identity<ClaimOpened>(e => e.ClaimId);
        Identity<ClaimMadeBlind>(e => e.ClaimId);
        Identity<ClaimRevealed>(e => e.ClaimId);
        Identity<StanceTaken>(e => e.ClaimId);
        // Read by the batch hook only: no document of this view is an article's.
        IncludeType<ArticleMadeBlind>();
        // The batch hook runs in the grouping, the one step Marten runs once per batch both in the writer's inline pass and in
        // the pages of a rebuild (its EnrichEventsAsync runs only in the latter). The grouping has no cancellation token.
        CustomGrouping((session, events, grouping) => FindOpeningsOnBlindArticlesAsync(session, events, grouping));
    }

    private async Task FindOpeningsOnBlindArticlesAsync(IQuerySession session, IReadOnlyList<IEvent> events,
        IEventGrouping<string> grouping)
    {
        var openings = events.Where(e => e.Data is ClaimOpened).ToList();
        if (openings.Count == 0) return;
        var ids = openings.Select(e => ((ClaimOpened)e.Data).ArticleId).ToHashSet(StringComparer.Ordinal);
        // Where each article was first made blind before this batch: in a rebuild's composite projection the blind-article
        // view runs in an earlier stage, and what it folded from pages not yet committed is in its cache (Marten's upstream
        // cache); otherwise the stored documents.
        var blindAt = new Dictionary<string, long>(StringComparer.Ordinal);
        if (grouping is SliceGroup<BlindClaimDocument, string> group
            && group.TryFindUpstreamCache<string, BlindArticleDocument>(out var upstream))
        {
            foreach (var id in ids)
                if (upstream.TryFind(id, out var doc) && doc is not null) blindAt[id] = doc.Position;
        }
        var stored = await session.LoadManyAsync<BlindArticleDocument>(CancellationToken.None, ids.Where(id => !blindAt.ContainsKey(id)));
        foreach (var doc in stored) blindAt[doc.Id] = doc.Position;
        // And in this batch (the first position counts).
        foreach (var e in events)
        {
            if (e.Data is ArticleMadeBlind a && ids.Contains(a.ArticleId)
                && e.Sequence < blindAt.GetValueOrDefault(a.ArticleId, long.MaxValue))
            {
                blindAt[a.ArticleId] = e.Sequence;
            }
        }
        foreach (var e in openings)
        {
            var blind = blindAt.TryGetValue(((ClaimOpened)e.Data).ArticleId, out var position) && position < e.Sequence;
            _onBlindArticle.AddOrUpdate(e, new StrongBox<bool>(blind));
        }
    }

    public override BlindClaimDocument? Evolve(BlindClaimDocument? snapshot, string id, IEvent e)
    {
        var doc = snapshot ?? new BlindClaimDocument { Id = id };
        return e.Data switch
        {
            ClaimOpened when OnBlindArticle(e) => doc with { Blind = true, BlindByArticle = true },
            ClaimMadeBlind => doc with { Blind = true },
            ClaimRevealed => doc with { Revealed = true },
            StanceTaken s when !doc.AnalystsWithStance.Contains(s.Analyst) =>
                doc with { AnalystsWithStance = [.. doc.AnalystsWithStance, s.Analyst] },
            _ => doc,
        };
    }

    private bool OnBlindArticle(IEvent opening) => _onBlindArticle.TryGetValue(opening, out var blind)
        ? blind.Value
        : throw new InvalidOperationException($"Claim opening {opening.Sequence} reached the blind-claim fold without its batch hook.");
}

/// <summary>What the read features share: each claim view as the caller may see it (<see cref="DomainBlindness.HiddenFrom"/>).</summary>
public static class BlindClaims
{
    /// <summary>The blindness documents of some claims, by claim id (claims never blind and without stances have none).</summary>
    public static async Task<IReadOnlyDictionary<string, BlindClaimDocument>> LoadAsync(IQuerySession session, IEnumerable<string> claimIds,
        CancellationToken ct)
    {
        var ids = claimIds.Distinct(StringComparer.Ordinal).ToArray();
        if (ids.Length == 0) return new Dictionary<string, BlindClaimDocument>();
        var docs = await session.LoadManyAsync<BlindClaimDocument>(ct, ids);
        return docs.ToDictionary(d => d.Id, StringComparer.Ordinal);
    }

    public static bool HiddenFrom(BlindClaimDocument? doc, Caller caller) =>
        doc is not null && DomainBlindness.HiddenFrom(doc.Blind, doc.Revealed, doc.AnalystsWithStance, caller.AnalystId, caller.Roles);

    /// <summary>The view as <paramref name="caller"/> may see it: marked blind, and emptied of everything stance-related while hidden
    /// (the contract lists the fields).</summary>
    public static ClaimView AsSeenBy(ClaimView view, BlindClaimDocument? doc, Caller caller)
    {
        if (doc is not { Blind: true, Revealed: false }) return view;
        var seen = view.Clone();
        seen.Blind = true;
        if (!HiddenFrom(doc, caller)) return seen;
        seen.Hidden = true;
        seen.Status = ClaimStatus.Unspecified;
        seen.Tallies.Clear();
        seen.Agreement = 0;
        seen.LeadingStance = Contracts.V1.Stance.Unspecified;
        seen.Stances.Clear();
        seen.Evidence.Clear();
        seen.Contributors.Clear();
        seen.Adjudication = null;
        // Others' tags are opinions too ("false", "misleading"): only the caller's own stay.
        var own = seen.Tags.Where(t => t.Analysts.Contains(caller.AnalystId))
            .Select(t => new TagSupport { Tag = t.Tag, Analysts = { caller.AnalystId } }).ToList();
        seen.Tags.Clear();
        seen.Tags.AddRange(own);
        // The version and positions move with every stance: they would count the others' stances.
        seen.Version = 0;
        seen.LastPosition = 0;
        seen.LastEventAt = null;
        return seen;
    }

    /// <summary>Whether something <paramref name="author"/> wrote on claim <paramref name="claimId"/> (a reply, a tag) is hidden from
    /// <paramref name="caller"/>: the claim is hidden from them and it is not their own. Not a claim (null): never.</summary>
    public static async Task<bool> HiddenFromAsync(IQuerySession session, string claimId, Caller caller, CancellationToken ct) =>
        HiddenFrom(await session.LoadAsync<BlindClaimDocument>(claimId, ct), caller);

    public static async Task<bool> HidesAsync(IQuerySession session, string? claimId, string author, Caller caller, CancellationToken ct) =>
        claimId is not null && author != caller.AnalystId && await HiddenFromAsync(session, claimId, caller, ct);

    /// <summary>Several views as <paramref name="caller"/> may see them.</summary>
    public static async Task<List<ClaimView>> AsSeenByAsync(IQuerySession session, IEnumerable<ClaimView> views, Caller caller,
        CancellationToken ct)
    {
        var list = views.ToList();
        var docs = await LoadAsync(session, list.Select(v => v.ClaimId), ct);
        return [.. list.Select(v => AsSeenBy(v, docs.GetValueOrDefault(v.ClaimId), caller))];
    }
}
