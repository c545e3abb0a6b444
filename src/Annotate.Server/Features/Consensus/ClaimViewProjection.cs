using Annotate.Domain;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Claims;
using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.Server.Features.Articles;
using Annotate.Server.Infrastructure;
using JasperFx.Events;
using Marten;

namespace Annotate.Server.Features.Consensus;

/// <summary>A claim's consensus view (<see cref="ConsensusProjection"/>) and where the claim was opened; keyed by the claim id.</summary>
public sealed class ClaimDocument
{
    public string Id { get; set; } = "";
    public string ArticleId { get; set; } = "";
    public int Start { get; set; }
    /// <summary>Position of the event that opened the claim (it lives in the article's claim stream).</summary>
    public long OpenedPosition { get; set; }
    public ClaimConsensus View { get; set; } = null!;
}

/// <summary>
/// The consensus view of every claim. A claim's events span two streams (its opening in the article's claim stream,
/// the rest in its own), so this is a multi-stream view keyed by claim id.
/// </summary>
public sealed class ClaimViewProjection(ConsensusPolicy policy) : ViewProjection<ClaimDocument>(
    typeof(ClaimOpened), typeof(StanceTaken), typeof(StanceWithdrawn), typeof(ClaimAdjudicated), typeof(ClaimReopened),
    typeof(TagApplied), typeof(TagRemoved), typeof(SpanReanchored), typeof(SpanOrphaned), typeof(SpanReattached),
    typeof(EvidenceReanchored), typeof(EvidenceOrphaned), typeof(ArticleRevised))
{
    // Read per batch: the article a claim opens on, and the articles a stance cites evidence in.
    private readonly RevisionAtCreation _revisions = new(data => data switch
    {
        ClaimOpened o => [o.ArticleId],
        StanceTaken s => s.Evidence.Select(x => x.ArticleId).Distinct(StringComparer.Ordinal),
        _ => [],
    });

    public override IEnumerable<string> KeysOf(ViewEvent e) => ClaimIdOf(e) is { } id ? [id] : [];

    protected override Task BeforeBatchAsync(IReadOnlyCollection<IEvent> events, IQuerySession session, CancellationToken ct) =>
        _revisions.FindAsync(events, session, ct);

    /// <summary>A new claim is on the revision its article was on when it was opened (its event names none).</summary>
    protected override async ValueTask<ClaimDocument> CreatedAsync(ClaimDocument created, IEvent e, IQuerySession session,
        CancellationToken ct)
    {
        if (created.View.Anchor is null)
        {
            created.View = created.View with { Anchor = SpanAnchor.On(await _revisions.RevisionAsync(e, created.ArticleId, session, ct)) };
        }
        return created;
    }

    /// <summary>Evidence a stance just cited is on the revision its article was on at the stance (the stance's event names
    /// none; the writer refuses a stance whose evidence was resolved against a text revised since; a rebuild, whose article
    /// views hold later revisions, finds the same).</summary>
    public override async ValueTask<ClaimDocument?> EvolveAsync(
        ClaimDocument? snapshot, string id, IQuerySession session, JasperFx.Events.IEvent e, CancellationToken cancellation)
    {
        var next = await base.EvolveAsync(snapshot, id, session, e, cancellation);
        if (next is null || e.Data is not StanceTaken || next.View.Evidence.All(x => x.Anchor is not null)) return next;
        var revisions = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var article in next.View.Evidence.Where(x => x.Anchor is null).Select(x => x.ArticleId).Distinct())
        {
            revisions[article] = await _revisions.RevisionAsync(e, article, session, cancellation);
        }
        next.View = next.View with
        {
            Evidence = next.View.Evidence.Select(x => x.Anchor is null ? x with { Anchor = SpanAnchor.On(revisions[x.ArticleId]) } : x)
                .ToValueList(),
        };
        return next;
    }

    /// <summary>A claim refolded after an erasure: its span and its evidence on the revisions their articles were on at the
    /// claim's opening and at each stance, as the writer's pass recorded them.</summary>
    protected override async ValueTask<ClaimDocument> RefoldedAsync(ClaimDocument doc, IQuerySession session, CancellationToken ct)
    {
        var articles = doc.View.Evidence.Where(x => x.Anchor is null).Select(x => x.ArticleId).Append(doc.ArticleId)
            .Distinct(StringComparer.Ordinal).ToList();
        var views = (await session.LoadManyAsync<ArticleView>(ct, articles)).ToDictionary(a => a.Id, StringComparer.Ordinal);
        int RevisionAt(string article, long position) => views.TryGetValue(article, out var a) ? a.RevisionAt(position) : 1;
        doc.View = doc.View with
        {
            Anchor = doc.View.Anchor ?? SpanAnchor.On(RevisionAt(doc.ArticleId, doc.OpenedPosition)),
            Evidence = doc.View.Evidence
                .Select(x => x.Anchor is null ? x with { Anchor = SpanAnchor.On(RevisionAt(x.ArticleId, x.Position)) } : x)
                .ToValueList(),
        };
        return doc;
    }

    public override ClaimDocument? Apply(ClaimDocument? current, string key, ViewEvent e)
    {
        var next = ConsensusProjection.Evolve(current?.View, e.Positioned, policy);
        if (next is null) return current;
        return new ClaimDocument
        {
            Id = key,
            ArticleId = next.ArticleId,
            Start = next.Start,
            OpenedPosition = current?.OpenedPosition ?? e.Position,
            View = next,
        };
    }

    /// <summary>The claim an event concerns: its claim stream's, the one a ClaimOpened opens, or the one whose span (or whose
    /// evidence) a revision of an article re-anchored or orphaned.</summary>
    public static string? ClaimIdOf(ViewEvent e) =>
        Streams.ClaimIdOf(e.StreamId)
        ?? (e.Event is ClaimOpened
            ? ClaimState.ClaimIdOf(e.Event)
            : SpanAnchor.TargetOf(e.Event, AnchorKind.Claim) ?? SpanAnchor.EvidenceClaimOf(e.Event));
}
