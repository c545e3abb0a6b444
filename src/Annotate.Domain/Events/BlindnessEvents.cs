namespace Annotate.Domain.Events;

// blind stances: claim events in the claim's stream "claim-{claimId}", the article's default in "article-{articleId}"

/// <summary>An adjudicator made a claim blind: an analyst sees the others' stances on it only after recording their own.</summary>
public sealed record ClaimMadeBlind(string ClaimId, string Adjudicator) : IDomainEvent;

/// <summary>An adjudicator revealed a blind claim to everyone.</summary>
public sealed record ClaimRevealed(string ClaimId, string Adjudicator) : IDomainEvent;

/// <summary>An adjudicator made an article blind: every claim opened on it from then on is blind.</summary>
public sealed record ArticleMadeBlind(string ArticleId, string Adjudicator) : IDomainEvent;
