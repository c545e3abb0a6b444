namespace Annotate.Domain.Events;

// articles: stream "article-{articleId}"

/// <summary>An article's text was imported. The text is stored in the event so the history is self-contained
/// (a replay needs nothing else); <see cref="ContentHash"/> is "sha256:" + lowercase hex of the UTF-8 text.</summary>
public sealed record ArticleImported(string ArticleId, string Title, string Source, string ContentHash, string Text, string ImportedBy)
    : IDomainEvent;

/// <summary>A new text of an article, revision <see cref="Revision"/> (the import is revision 1). The text is stored whole,
/// like the import's; the re-anchoring of every span on the article follows in the same append.</summary>
public sealed record ArticleRevised(string ArticleId, int Revision, string ContentHash, string Text, string RevisedBy, string Reason)
    : IDomainEvent;

/// <summary>A highlight's or claim's span placed on revision <see cref="Revision"/>: [OldStart, OldEnd) of the previous
/// revision became [Start, End) with its new text and context; <see cref="Score"/> in (0, 1] says how sure (1: same text
/// and context).</summary>
public sealed record SpanReanchored(
    string ArticleId,
    int Revision,
    AnchorKind Kind,
    string TargetId,
    int OldStart,
    int OldEnd,
    int Start,
    int End,
    string Exact,
    string Prefix,
    string Suffix,
    ReanchorMethod Method,
    double Score
) : IDomainEvent;

/// <summary>A span that could not be placed on revision <see cref="Revision"/> with confidence (its text is gone, or it
/// matches several places equally well). It keeps its last span, on an earlier revision, and waits for review.</summary>
public sealed record SpanOrphaned(
    string ArticleId,
    int Revision,
    AnchorKind Kind,
    string TargetId,
    int OldStart,
    int OldEnd,
    string Exact,
    string Reason)
    : IDomainEvent;

/// <summary>A span cited as evidence by <see cref="Analyst"/>'s current stance on claim <see cref="ClaimId"/> placed on revision
/// <see cref="Revision"/> of <see cref="ArticleId"/> (the cited article, whose stream records it): [OldStart, OldEnd) of the
/// previous revision became [Start, End), as <see cref="SpanReanchored"/> places highlights and claims.</summary>
public sealed record EvidenceReanchored(
    string ArticleId,
    int Revision,
    string ClaimId,
    string Analyst,
    int OldStart,
    int OldEnd,
    int Start,
    int End,
    string Exact,
    ReanchorMethod Method,
    double Score
) : IDomainEvent;

/// <summary>Evidence of <see cref="Analyst"/>'s current stance on claim <see cref="ClaimId"/> that could not be placed on
/// revision <see cref="Revision"/> of <see cref="ArticleId"/> with confidence; it keeps its span on the earlier text.</summary>
public sealed record EvidenceOrphaned(
    string ArticleId,
    int Revision,
    string ClaimId,
    string Analyst,
    int OldStart,
    int OldEnd,
    string Exact,
    string Reason
) : IDomainEvent;

/// <summary>An analyst reviewed a span a revision orphaned or moved, on revision <see cref="Revision"/>: attached it to
/// [Start, End) of that text, or (<see cref="Confirmed"/>) confirmed the span the revision gave it. Recorded in the highlight's or
/// claim's own stream.</summary>
public sealed record SpanReattached(
    string ArticleId,
    int Revision,
    AnchorKind Kind,
    string TargetId,
    int Start,
    int End,
    string Exact,
    string Prefix,
    string Suffix,
    string Analyst,
    bool Confirmed
) : IDomainEvent;
