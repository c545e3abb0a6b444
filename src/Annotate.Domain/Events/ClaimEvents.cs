namespace Annotate.Domain.Events;

// claims: stream "claim-{claimId}"; the article's claim index is fed by ClaimOpened

public sealed record ClaimOpened(
    string ClaimId,
    string ArticleId,
    string Analyst,
    int Start,
    int End,
    string Exact,
    string Prefix,
    string Suffix,
    string Statement
) : IDomainEvent;

/// <summary>An analyst's current stance on a claim; replaces any earlier stance by the same analyst.</summary>
public sealed record StanceTaken(string ClaimId, string Analyst, Stance Stance, string Rationale, ValueList<EvidenceSpan> Evidence)
    : IDomainEvent;

public sealed record StanceWithdrawn(string ClaimId, string Analyst) : IDomainEvent;

/// <summary>An adjudicator recorded a verdict, having seen the claim at <see cref="ClaimVersionSeen"/> (its stream version).</summary>
public sealed record ClaimAdjudicated(string ClaimId, string Adjudicator, Stance Verdict, string Rationale, long ClaimVersionSeen)
    : IDomainEvent;

public sealed record ClaimReopened(string ClaimId, string Adjudicator, string Reason) : IDomainEvent;

/// <summary>A span of an article cited as evidence, resolved (code points, end exclusive) when the stance was taken.</summary>
public sealed record EvidenceSpan(string ArticleId, int Start, int End, string Exact);
