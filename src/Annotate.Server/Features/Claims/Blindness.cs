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
/// Folds a claim's opening (blind when its article had been made blind before it: read from the article's document, written
/// by an earlier transaction, so an article made blind in the same group commit as the opening does not count in the writer's
/// pass; a rebuild, which finds the article's document complete, compares positions), blindness, reveal and stances.
/// </summary>
public sealed class BlindClaimProjection : MultiStreamProjection<BlindClaimDocument, string>
{
    // Whether the article a ClaimOpened opens on was blind before it, read per page of a rebuild (EnrichEventsAsync); keyed by
    // the event object Marten hands to the batch hook and then to the fold.
    private readonly ConditionalWeakTable<IEvent, StrongBox<bool>> _blindArticle = [];

    public BlindClaimProjection()
    {
        Identity<ClaimOpened>(e => e.ClaimId);
        Identity<ClaimMadeBlind>(e => e.ClaimId);
        Identity<ClaimRevealed>(e => e.ClaimId);
        Identity<StanceTaken>(e => e.ClaimId);
    }

    /// <summary>Marten's batch hook, which its daemon calls for each page of a rebuild (not in the writer's inline pass, where
    /// <see cref="EvolveAsync"/> reads each opening's article itself): the articles of the page's openings in one query. In the
    /// rebuild's composite projection the blind-article view runs in an earlier stage of the same page: its documents that
    /// page wrote are not in the database yet, so they are taken from that stage's cache (Marten's upstream cache).</summary>
    public override async Task EnrichEventsAsync(SliceGroup<BlindClaimDocument, string> group, IQuerySession querySession,
        CancellationToken cancellation)
    {
        var openings = group.Slices.SelectMany(s => s.Events()).Where(e => e.Data is ClaimOpened)
            .Distinct(ReferenceEqualityComparer.Instance).Cast<IEvent>().ToList();
        if (openings.Count == 0) return;
        var articles = new Dictionary<string, BlindArticleDocument>(StringComparer.Ordinal);
        var ids = openings.Select(e => ((ClaimOpened)e.Data).ArticleId).Distinct(StringComparer.Ordinal).ToList();
        if (group.TryFindUpstreamCache<string, BlindArticleDocument>(out var upstream))
        {
            foreach (var id in ids)
                if (upstream.TryFind(id, out var doc) && doc is not null) articles[id] = doc;
        }
        var stored = await querySession.LoadManyAsync<BlindArticleDocument>(cancellation, ids.Where(id => !articles.ContainsKey(id)));
        foreach (var doc in stored) articles[doc.Id] = doc;
        foreach (var e in openings)
            _blindArticle.AddOrUpdate(e, new StrongBox<bool>(BlindBefore(articles.GetValueOrDefault(((ClaimOpened)e.Data).ArticleId), e)));
    }

    private static bool BlindBefore(BlindArticleDocument? article, IEvent opening) =>
        article is not null && article.Position < opening.Sequence;

    public override async ValueTask<BlindClaimDocument?> EvolveAsync(
        BlindClaimDocument? snapshot,
        string id,
        IQuerySession session,
        IEvent e,
        CancellationToken cancellation)
    {
        var doc = snapshot ?? new BlindClaimDocument { Id = id };
        if (e.Data is ClaimOpened o && (_blindArticle.TryGetValue(e, out var found)
                ? found.Value
                : BlindBefore(await session.LoadAsync<BlindArticleDocument>(o.ArticleId, cancellation), e)))
        {
            return doc with { Blind = true, BlindByArticle = true };
        }
        return e.Data switch
        {
            ClaimMadeBlind => doc with { Blind = true },
            ClaimRevealed => doc with { Revealed = true },
            StanceTaken s when !doc.AnalystsWithStance.Contains(s.Analyst) =>
                doc with { AnalystsWithStance = [.. doc.AnalystsWithStance, s.Analyst] },
            _ => doc,
        };
    }
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
