using Annotate.Domain.Events;

namespace Annotate.Domain.Anchoring;

/// <summary>
/// Which revision an annotation's span is on, as the revisions left it. The views set it when the annotation is made (its
/// creating event does not name a revision: the view reads the article's); <see cref="Revision"/> 0 means not known, only
/// in a view made before revisions existed, where it is 1 or, for an orphan, the revision before the one that orphaned it.
/// Invariants: <see cref="Method"/> is set exactly when a revision placed the span (then Revision &gt; 0);
/// <see cref="OrphanReason"/> is set exactly when a later revision (<see cref="OrphanedOnRevision"/>) could not, and then
/// the span stays as it was on <see cref="Revision"/>. An orphan stays one: later revisions do not try it again, until an
/// analyst reattaches it (<see cref="ReattachedBy"/>: set exactly when the span was last placed or confirmed by hand).
/// </summary>
public sealed record SpanAnchor(
    int Revision, ReanchorMethod? Method, double Score, int OrphanedOnRevision, string? OrphanReason, string? ReattachedBy = null)
{
    public static SpanAnchor AsCreated { get; } = new(0, null, 0, 0, null);

    /// <summary>A span made on <paramref name="revision"/>.</summary>
    public static SpanAnchor On(int revision) => new(revision, null, 0, 0, null);

    public bool Orphaned => OrphanReason is not null;

    /// <summary>Placed by a revision (not by hand), and not since reviewed: what <see cref="Reattach"/> may confirm.</summary>
    public bool Reanchored => Method is not null && ReattachedBy is null && !Orphaned;

    /// <summary>An analyst placed (or confirmed) the span on <see cref="SpanReattached.Revision"/>: no longer orphaned.</summary>
    public static SpanAnchor Reattached(SpanReattached e) => new(e.Revision, null, 1, 0, null, e.Analyst);

    public SpanAnchor Moved(SpanReanchored e) => new(e.Revision, e.Method, e.Score, 0, null);

    public SpanAnchor Lost(SpanOrphaned e) => this with { OrphanedOnRevision = e.Revision, OrphanReason = e.Reason };

    public static SpanAnchor Moved(EvidenceReanchored e) => new(e.Revision, e.Method, e.Score, 0, null);

    public SpanAnchor Lost(EvidenceOrphaned e) => this with { OrphanedOnRevision = e.Revision, OrphanReason = e.Reason };

    /// <summary>The claim whose evidence a revision's event concerns.</summary>
    public static string? EvidenceClaimOf(IDomainEvent e) => e switch
    {
        EvidenceReanchored r => r.ClaimId,
        EvidenceOrphaned o => o.ClaimId,
        _ => null,
    };

    /// <summary>The annotation a span event concerns, if it is of this kind.</summary>
    public static string? TargetOf(IDomainEvent e, AnchorKind kind) => e switch
    {
        SpanReanchored r when r.Kind == kind => r.TargetId,
        SpanOrphaned o when o.Kind == kind => o.TargetId,
        SpanReattached a when a.Kind == kind => a.TargetId,
        _ => null,
    };
}
