using Annotate.Domain.Events;

namespace Annotate.Domain.Anchoring;

/// <summary>
/// Which revision an annotation's span is on, as the revisions left it. <see cref="Revision"/> 0 means "the revision
/// current when the annotation was made" (its creating event does not name one; a reader knows the article's revision
/// positions). Invariants: <see cref="Method"/> is set exactly when a revision placed the span (then Revision &gt; 0);
/// <see cref="OrphanReason"/> is set exactly when a later revision (<see cref="OrphanedOnRevision"/>) could not, and then
/// the span stays as it was on <see cref="Revision"/>. An orphan stays one: later revisions do not try it again.
/// </summary>
public sealed record SpanAnchor(int Revision, ReanchorMethod? Method, double Score, int OrphanedOnRevision, string? OrphanReason)
{
    public static SpanAnchor AsCreated { get; } = new(0, null, 0, 0, null);

    public bool Orphaned => OrphanReason is not null;

    public SpanAnchor Moved(SpanReanchored e) => new(e.Revision, e.Method, e.Score, 0, null);

    public SpanAnchor Lost(SpanOrphaned e) => this with { OrphanedOnRevision = e.Revision, OrphanReason = e.Reason };

    /// <summary>The annotation a span event concerns, if it is of this kind.</summary>
    public static string? TargetOf(IDomainEvent e, AnchorKind kind) => e switch
    {
        SpanReanchored r when r.Kind == kind => r.TargetId,
        SpanOrphaned o when o.Kind == kind => o.TargetId,
        _ => null,
    };
}
