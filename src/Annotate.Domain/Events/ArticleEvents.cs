namespace Annotate.Domain.Events;

// articles: stream "article-{articleId}"

/// <summary>An article's text was imported. The text is stored in the event so the history is self-contained
/// (a replay needs nothing else); <see cref="ContentHash"/> is "sha256:" + lowercase hex of the UTF-8 text.</summary>
public sealed record ArticleImported(string ArticleId, string Title, string Source, string ContentHash, string Text, string ImportedBy)
    : IDomainEvent;
