using Annotate.Domain.Events;

namespace Annotate.Domain.Consensus;

/// <summary>The count of current stances of one kind.</summary>
public sealed record StanceTally(Stance Stance, int Count);

/// <summary>
/// An analyst's current stance, as shown in the view. TakenAt is when the StanceTaken event was recorded; it is null
/// only in a view stored by a server that did not keep it (the stance has no known time then).
/// </summary>
public sealed record CurrentStance(string Analyst, Stance Stance, string Rationale, DateTimeOffset? TakenAt = null);

/// <summary>
/// One cited evidence span, with who cited it and for which stance. <see cref="Position"/> is the stance's (0 in a view stored
/// before it was kept); <see cref="Anchor"/> says which revision of its article the span is on, and whether a revision moved or
/// orphaned it: null until set (the server's view sets it to the article's revision when the stance is taken).
/// </summary>
public sealed record EvidenceEntry(
    string Analyst, Stance Stance, string ArticleId, int Start, int End, string Exact, long Position = 0,
    Anchoring.SpanAnchor? Anchor = null);

/// <summary>
/// The consensus view of one claim: a pure fold of the claim's events (see <see cref="ConsensusProjection"/>).
/// Invariants: Tallies lists all four stances in enum order and sums to Stances.Count; Stances are the current ones
/// only, ordered by analyst (ordinal); Evidence is ordered by analyst then citation order; Tags by support descending
/// then name; Contributors sorted (ordinal) and distinct; Agreement = leading count / stances (0 with none);
/// Verdict (and AdjudicatedAt, the time of the adjudication, not of later events such as tags) is set exactly when
/// Status is Adjudicated; Anchor is null until a revision of the article re-anchors or orphans the span (the claim's
/// version does not count those: they are not in the claim's stream). Record equality compares all of it, so a live view can be
/// compared with a from-scratch fold.
/// </summary>
public sealed record ClaimConsensus(
    string ClaimId,
    string ArticleId,
    int Start,
    int End,
    string Exact,
    string Prefix,
    string Suffix,
    string Statement,
    string OpenedBy,
    ConsensusStatus Status,
    Stance? Verdict,
    string? Adjudicator,
    string? AdjudicationRationale,
    ValueList<StanceTally> Tallies,
    double Agreement,
    ValueList<CurrentStance> Stances,
    ValueList<Tags.TagSupport> Tags,
    ValueList<EvidenceEntry> Evidence,
    ValueList<string> Contributors,
    long Version,
    long LastPosition,
    DateTimeOffset LastRecordedAt,
    DateTimeOffset? AdjudicatedAt = null,
    Anchoring.SpanAnchor? Anchor = null);
