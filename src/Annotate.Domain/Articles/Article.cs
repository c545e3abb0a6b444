using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Articles;

/// <summary>State of one article stream. Invariant: once imported, the text and hash never change (articles are immutable
/// for now; revisions come later as new events).</summary>
public sealed record ArticleState(string? ArticleId, string? Title, string? Source, string? ContentHash, string? Text)
{
    public static ArticleState Initial { get; } = new(null, null, null, null, null);

    public bool Exists => ArticleId is not null;

    /// <summary>The text as a document for anchoring; throws if the article does not exist (check <see cref="Exists"/>).</summary>
    public TextDocument Document() => new(Text ?? throw new InvalidOperationException("article not imported"));
}

/// <summary>Import an article (admin). Re-importing the same text is a no-op, so seeding on every start is safe.</summary>
public sealed record ImportArticle(string ArticleId, string Title, string Source, string Text);

public static class Article
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(ArticleState state, ImportArticle command, CommandContext context)
    {
        if (context.Require(Role.Admin, "Importing an article") is { } denied)
        {
            return denied;
        }

        var invalid = Identifiers.CheckArticle(command.ArticleId)
            ?? (string.IsNullOrWhiteSpace(command.Title) ? "The article needs a title." : null)
            ?? Limits.TooLong("title", command.Title, Limits.MaxTitle)
            ?? Limits.TooLong("source", command.Source, Limits.MaxTitle)
            ?? (string.IsNullOrWhiteSpace(command.Text) ? "The article text is empty; import the article's full text." : null)
            ?? Limits.TooLong("article text", command.Text, Limits.MaxArticleText);
        if (invalid is not null)
        {
            return DomainError.Invalid(invalid);
        }

        var hash = ContentHash.Of(command.Text);
        if (state.Exists)
        {
            return state.ContentHash == hash
                ? Decision.None
                : DomainError.FailedPrecondition(
                    $"Article {command.ArticleId} already exists with other text ({state.ContentHash}); articles are immutable, so " +
                        $"import the new text under a new id.");
        }

        return Decision.Events(
            new ArticleImported(command.ArticleId, command.Title.Trim(), command.Source ?? string.Empty, hash, command.Text, context.Actor)
        );
    }

    public static ArticleState Evolve(ArticleState state, IDomainEvent e) => e switch
    {
        ArticleImported a => new ArticleState(a.ArticleId, a.Title, a.Source, a.ContentHash, a.Text),
        _ => state,
    };
}
