namespace Annotate.Domain.Events;

// highlights: stream "highlight-{highlightId}"

public sealed record HighlightCreated(
    string HighlightId,
    string ArticleId,
    string Analyst,
    int Start,
    int End,
    string Exact,
    string Prefix,
    string Suffix,
    string? Note
) : IDomainEvent;

public sealed record HighlightRetracted(string HighlightId, string ArticleId, string Analyst) : IDomainEvent;
