namespace Annotate.Domain.Events;

/// <summary>An analyst's position on a claim (also an adjudicator's verdict). Stored by name, never by number.</summary>
public enum Stance
{
    Supports,
    Refutes,
    NeedsContext,
    Unverifiable,
}

/// <summary>What a tag is applied to.</summary>
public enum TagTargetKind
{
    Highlight,
    Claim,
}

/// <summary>Roles an analyst may hold. Analyst: annotate and take stances; Adjudicator: record verdicts and reopen;
/// Auditor: read-only, may replay and verify history; Admin: import articles, manage analysts and tokens.</summary>
public enum Role
{
    Analyst,
    Adjudicator,
    Auditor,
    Admin,
}

/// <summary>What kind of annotation a span belongs to, when a revision re-anchors it.</summary>
public enum AnchorKind
{
    Highlight,
    Claim,
}

/// <summary>How a span was placed on a new revision: the same place with the same text and context, its quote found
/// by context elsewhere, or its edited text found between its unchanged context.</summary>
public enum ReanchorMethod
{
    Position,
    Quote,
    Fuzzy,
}
