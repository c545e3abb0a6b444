using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Articles;

/// <summary>State of one article stream: its current revision (1 for the imported text, one more per revision) with its
/// text and hash, and the hash of the text as imported. Invariant: Revision is 0 exactly when the article was not imported.</summary>
public sealed record ArticleState(
    string? ArticleId, string? Title, string? Source, string? ContentHash, string? Text, int Revision = 0, string? ImportedHash = null)
{
    public static ArticleState Initial { get; } = new(null, null, null, null, null);

    public bool Exists => ArticleId is not null;

    /// <summary>The text as a document for anchoring; throws if the article does not exist (check <see cref="Exists"/>).</summary>
    public TextDocument Document() => new(Text ?? throw new InvalidOperationException("article not imported"));
}

/// <summary>Import an article (admin). Re-importing the same text (as imported, or as currently revised) is a no-op, so seeding on
/// every start is safe after a revision too.</summary>
public sealed record ImportArticle(string ArticleId, string Title, string Source, string Text);

/// <summary>A new text for an existing article (admin), with the spans of its live annotations as they stand and the
/// evidence current stances cite in it, to be re-anchored on it. The same text as the current revision is a no-op.</summary>
public sealed record ReviseArticle(
    string ArticleId, string Text, string Reason, IReadOnlyList<AnchoredSpan> Spans, IReadOnlyList<CitedEvidence>? Evidence = null);

/// <summary>A span of the article cited as evidence by <see cref="Analyst"/>'s current stance on <see cref="ClaimId"/>, as the
/// claim's view holds it (no context is stored with evidence: it is taken from the current text).</summary>
public sealed record CitedEvidence(string ClaimId, string Analyst, int Start, int End, string Exact);

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

        if (state.Exists)
        {
            return !IsOtherText(state, command.Text)
                ? Decision.None
                : DomainError.FailedPrecondition(
                    $"Article {command.ArticleId} already exists with other text ({state.ContentHash}); revise it " +
                        $"(ReviseArticle) to give it a new text.");
        }

        return Decision.Events(
            new ArticleImported(
                command.ArticleId, command.Title.Trim(), command.Source ?? string.Empty, ContentHash.Of(command.Text), command.Text,
                context.Actor)
        );
    }

    /// <summary>Whether <paramref name="text"/> is neither the text the article was imported with nor its current text (an
    /// import of it is then the article's next revision).</summary>
    public static bool IsOtherText(ArticleState state, string text) =>
        ContentHash.Of(text) is var hash && state.ContentHash != hash && state.ImportedHash != hash;

    /// <summary>
    /// Records the new text as the next revision and, in the same decision, where every given span lands on it
    /// (<see cref="Reanchor"/>): one <see cref="SpanReanchored"/> or <see cref="SpanOrphaned"/> per span, in kind then
    /// id order, so a replay of the log shows each revision's anchors without recomputing them.
    /// </summary>
    public static Result<IReadOnlyList<IDomainEvent>> Decide(ArticleState state, ReviseArticle command, CommandContext context)
    {
        if (context.Require(Role.Admin, "Revising an article") is { } denied)
        {
            return denied;
        }

        if (!state.Exists)
        {
            return DomainError.NotFound($"article_id \"{command.ArticleId}\" names no article; import it first.");
        }

        var invalid = (string.IsNullOrWhiteSpace(command.Text) ? "The revised text is empty; send the article's full new text." : null)
            ?? Limits.TooLong("article text", command.Text, Limits.MaxArticleText)
            ?? Limits.TooLong("reason", command.Reason, Limits.MaxReason);
        if (invalid is not null)
        {
            return DomainError.Invalid(invalid);
        }

        var hash = ContentHash.Of(command.Text);
        if (state.ContentHash == hash)
        {
            return Decision.None;
        }

        var revision = state.Revision + 1;
        var next = new TextDocument(command.Text);
        var events = new List<IDomainEvent>
        {
            new ArticleRevised(state.ArticleId!, revision, hash, command.Text, context.Actor, command.Reason?.Trim() ?? string.Empty),
        };
        foreach (var span in command.Spans.OrderBy(s => s.Kind).ThenBy(s => s.TargetId, StringComparer.Ordinal))
        {
            var placement = Reanchor.Place(next, span);
            events.Add(placement.Anchor is { } a
                ? new SpanReanchored(state.ArticleId!, revision, span.Kind, span.TargetId, span.Start, span.End, a.Start, a.End, a.Exact,
                    a.Prefix, a.Suffix, placement.Method, placement.Score)
                : new SpanOrphaned(state.ArticleId!, revision, span.Kind, span.TargetId, span.Start, span.End, span.Exact,
                    placement.OrphanReason!));
        }

        var current = state.Document();
        var cited = (command.Evidence ?? []).Distinct()
            .OrderBy(c => c.ClaimId, StringComparer.Ordinal).ThenBy(c => c.Analyst, StringComparer.Ordinal).ThenBy(c => c.Start)
            .ThenBy(c => c.End);
        foreach (var c in cited)
        {
            events.Add(PlaceEvidence(state.ArticleId!, revision, current, next, c));
        }

        return Decision.Events([.. events]);
    }

    /// <summary>
    /// Evidence is placed as highlights and claims are, with its context read from the current text; evidence whose quote is
    /// not at its place on the current text (cited on an older revision and never carried) is orphaned rather than guessed at.
    /// </summary>
    private static IDomainEvent PlaceEvidence(string articleId, int revision, TextDocument current, TextDocument next, CitedEvidence c)
    {
        if (c.Start < 0 || c.End <= c.Start || c.End > current.Length || current.Slice(c.Start, c.End) != c.Exact)
        {
            return new EvidenceOrphaned(articleId, revision, c.ClaimId, c.Analyst, c.Start, c.End, c.Exact,
                $"the evidence is not on revision {revision - 1}'s text at its place");
        }

        var old = Anchor.Build(current, c.Start, c.End);
        var span = new AnchoredSpan(AnchorKind.Claim, c.ClaimId, c.Start, c.End, old.Exact, old.Prefix, old.Suffix);
        var placement = Reanchor.Place(next, span);
        return placement.Anchor is { } a
            ? new EvidenceReanchored(articleId, revision, c.ClaimId, c.Analyst, c.Start, c.End, a.Start, a.End, a.Exact, placement.Method,
                placement.Score)
            : new EvidenceOrphaned(articleId, revision, c.ClaimId, c.Analyst, c.Start, c.End, c.Exact, placement.OrphanReason!);
    }

    public static ArticleState Evolve(ArticleState state, IDomainEvent e) => e switch
    {
        ArticleImported a => new ArticleState(a.ArticleId, a.Title, a.Source, a.ContentHash, a.Text, 1, a.ContentHash),
        ArticleRevised r when r.ArticleId == state.ArticleId =>
            state with { ContentHash = r.ContentHash, Text = r.Text, Revision = r.Revision },
        _ => state,
    };
}
