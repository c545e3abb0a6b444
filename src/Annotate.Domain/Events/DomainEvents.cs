namespace Annotate.Domain.Events;

/// <summary>
/// Marker for every stored event. Rules for all implementations: past-tense immutable records holding ids and
/// values only (strings, numbers, enums, times, lists of such records); each is registered once in
/// <see cref="EventTypes"/> under a stable stored name ending in ".vN". A stored shape is never changed: a new
/// shape is a new record with a new version.
/// </summary>
public interface IDomainEvent;

/// <summary>A span of an article cited as evidence, resolved (code points, end exclusive) when the stance was taken.</summary>
public sealed record EvidenceSpan(string ArticleId, int Start, int End, string Exact);

// ---- articles: stream "article-{articleId}" ----

/// <summary>An article's text was imported. The text is stored in the event so the history is self-contained
/// (a replay needs nothing else); <see cref="ContentHash"/> is "sha256:" + lowercase hex of the UTF-8 text.</summary>
public sealed record ArticleImported(string ArticleId, string Title, string Source, string ContentHash, string Text, string ImportedBy) : IDomainEvent;

// ---- highlights: stream "highlight-{highlightId}" ----

public sealed record HighlightCreated(
    string HighlightId, string ArticleId, string Analyst, int Start, int End, string Exact, string Prefix, string Suffix, string? Note) : IDomainEvent;

public sealed record HighlightRetracted(string HighlightId, string ArticleId, string Analyst) : IDomainEvent;

// ---- tags: in the target's stream (highlight or claim) ----

/// <summary>An analyst applied a normalised tag (see <c>Tags.TagName</c>) to a highlight or claim.</summary>
public sealed record TagApplied(TagTargetKind TargetKind, string TargetId, string Tag, string Analyst) : IDomainEvent;

/// <summary>An analyst removed the tag they had applied.</summary>
public sealed record TagRemoved(TagTargetKind TargetKind, string TargetId, string Tag, string Analyst) : IDomainEvent;

// ---- claims: stream "claim-{claimId}"; the article's claim index is fed by ClaimOpened ----

public sealed record ClaimOpened(
    string ClaimId, string ArticleId, string Analyst, int Start, int End, string Exact, string Prefix, string Suffix, string Statement) : IDomainEvent;

/// <summary>An analyst's current stance on a claim; replaces any earlier stance by the same analyst.</summary>
public sealed record StanceTaken(string ClaimId, string Analyst, Stance Stance, string Rationale, ValueList<EvidenceSpan> Evidence) : IDomainEvent;

public sealed record StanceWithdrawn(string ClaimId, string Analyst) : IDomainEvent;

/// <summary>An adjudicator recorded a verdict, having seen the claim at <see cref="ClaimVersionSeen"/> (its stream version).</summary>
public sealed record ClaimAdjudicated(string ClaimId, string Adjudicator, Stance Verdict, string Rationale, long ClaimVersionSeen) : IDomainEvent;

public sealed record ClaimReopened(string ClaimId, string Adjudicator, string Reason) : IDomainEvent;

// ---- analysts and tokens: stream "analyst-{analystId}" ----

public sealed record AnalystRegistered(string AnalystId, string DisplayName, ValueList<Role> Roles, string RegisteredBy) : IDomainEvent;

public sealed record AnalystRolesChanged(string AnalystId, ValueList<Role> Roles, string ChangedBy) : IDomainEvent;

/// <summary>A bearer token was issued. Only a hash of the secret is stored (<see cref="SecretHash"/>, computed by the
/// caller); the secret itself never enters the history.</summary>
public sealed record TokenIssued(string TokenId, string AnalystId, string SecretHash, DateTimeOffset? ExpiresAt, string Label, string IssuedBy) : IDomainEvent;

public sealed record TokenRevoked(string TokenId, string AnalystId, string RevokedBy) : IDomainEvent;
