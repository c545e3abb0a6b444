using Annotate.Domain.Anchoring;
using Annotate.Domain.Events;
using Annotate.Server.Features.Articles;
using Annotate.Server.Infrastructure;
using JasperFx.Events;
using Marten;

namespace Annotate.Server.Features.Annotations;

/// <summary>A highlight as readers see it: span, note, author, and per tag who applied it; keyed by the highlight id.</summary>
public sealed class HighlightView
{
    public string Id { get; set; } = "";
    public string ArticleId { get; set; } = "";
    public string Analyst { get; set; } = "";
    public int Start { get; set; }
    public int End { get; set; }
    public string Exact { get; set; } = "";
    public string Prefix { get; set; } = "";
    public string Suffix { get; set; } = "";
    public string? Note { get; set; }
    public DateTime CreatedAt { get; set; }
    public long Position { get; set; }
    /// <summary>Which revision the span is on; null until a revision of the article re-anchors or orphans it.</summary>
    public SpanAnchor? Anchor { get; set; }
    /// <summary>Tag to the analysts who applied it, each list in ordinal order.</summary>
    public Dictionary<string, List<string>> Tags { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One <see cref="HighlightView"/> per highlight, removed when it is retracted.</summary>
public sealed class HighlightViewProjection() : ViewProjection<HighlightView>(
    typeof(HighlightCreated), typeof(HighlightRetracted), typeof(TagApplied), typeof(TagRemoved), typeof(SpanReanchored),
    typeof(SpanOrphaned), typeof(SpanReattached), typeof(ArticleRevised))
{
    private readonly RevisionAtCreation _revisions = new(data => data is HighlightCreated c ? [c.ArticleId] : []);

    protected override Task BeforeBatchAsync(IReadOnlyCollection<IEvent> events, IQuerySession session, CancellationToken ct) =>
        _revisions.FindAsync(events, session, ct);

    /// <summary>A new highlight is on the revision its article was on when it was made (its event names none).</summary>
    protected override async ValueTask<HighlightView> CreatedAsync(HighlightView created, IEvent e, IQuerySession session,
        CancellationToken ct)
    {
        created.Anchor ??= SpanAnchor.On(await _revisions.RevisionAsync(e, created.ArticleId, session, ct));
        return created;
    }

    /// <summary>A highlight refolded after an erasure is on the revision its article was on when it was made.</summary>
    protected override async ValueTask<HighlightView> RefoldedAsync(HighlightView doc, IQuerySession session, CancellationToken ct)
    {
        doc.Anchor ??= SpanAnchor.On((await session.LoadAsync<ArticleView>(doc.ArticleId, ct))?.RevisionAt(doc.Position) ?? 1);
        return doc;
    }

    public override IEnumerable<string> KeysOf(ViewEvent e) => e.Event switch
    {
        HighlightCreated c => [c.HighlightId],
        HighlightRetracted r => [r.HighlightId],
        TagApplied { TargetKind: TagTargetKind.Highlight } t => [t.TargetId],
        TagRemoved { TargetKind: TagTargetKind.Highlight } t => [t.TargetId],
        _ => SpanAnchor.TargetOf(e.Event, AnchorKind.Highlight) is { } id ? [id] : [],
    };

    public override HighlightView? Apply(HighlightView? current, string key, ViewEvent e)
    {
        switch (e.Event)
        {
            case HighlightCreated c:
                return new HighlightView
                {
                    Id = c.HighlightId,
                    ArticleId = c.ArticleId,
                    Analyst = c.Analyst,
                    Start = c.Start,
                    End = c.End,
                    Exact = c.Exact,
                    Prefix = c.Prefix,
                    Suffix = c.Suffix,
                    Note = c.Note,
                    CreatedAt = e.RecordedAt,
                    Position = e.Position,
                };
            case HighlightRetracted:
                return null;
            case SpanReanchored r when current is not null:
                (current.Start, current.End, current.Exact, current.Prefix, current.Suffix) = (r.Start, r.End, r.Exact, r.Prefix, r.Suffix);
                current.Anchor = (current.Anchor ?? SpanAnchor.AsCreated).Moved(r);
                return current;
            case SpanReattached a when current is not null:
                (current.Start, current.End, current.Exact, current.Prefix, current.Suffix) = (a.Start, a.End, a.Exact, a.Prefix, a.Suffix);
                current.Anchor = SpanAnchor.Reattached(a);
                return current;
            case SpanOrphaned o when current is not null:
                current.Anchor = (current.Anchor ?? SpanAnchor.AsCreated).Lost(o);
                return current;
            case TagApplied t when current is not null:
                var analysts = current.Tags.GetValueOrDefault(t.Tag) ?? [];
                if (!analysts.Contains(t.Analyst, StringComparer.Ordinal)) analysts.Add(t.Analyst);
                analysts.Sort(StringComparer.Ordinal);
                current.Tags[t.Tag] = analysts;
                return current;
            case TagRemoved t when current is not null:
                if (current.Tags.TryGetValue(t.Tag, out var list))
                {
                    list.RemoveAll(a => a == t.Analyst);
                    if (list.Count == 0) current.Tags.Remove(t.Tag);
                }
                return current;
            default:
                return current;
        }
    }
}
