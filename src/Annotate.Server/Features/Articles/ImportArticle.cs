using Annotate.Contracts.V1;
using Annotate.Domain.Articles;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;
using ArticleDecisions = Annotate.Domain.Articles.Article;
using Role = Annotate.Domain.Events.Role;
namespace Annotate.Server.Features.Articles;

/// <summary>
/// Imports an article's text (admin). The text it was imported with, or its current text, again changes nothing; other text
/// under an existing id is recorded as the article's next revision, its spans re-anchored as <see cref="ReviseArticle"/> does.
/// </summary>
public static partial class ImportArticle
{
    // The contract's slug (articles.proto), stricter than the domain's general id shape.
    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9][a-z0-9-]{0,79}$")]
    private static partial System.Text.RegularExpressions.Regex Slug();
    public sealed record Command(ImportArticleRequest Request) : IRequest<ImportArticleResponse>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, ImportArticleResponse>
    {
        public async Task<ImportArticleResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            if (!Slug().IsMatch(r.ArticleId))
            {
                throw ErrorMapping.Invalid($"The article id \"{r.ArticleId}\" is not a slug; use 1 to 80 characters of a-z, 0-9 and '-', " +
                                           $"starting with a letter or digit.");
            }
            if (Streams.IsClaimOpeningsName(r.ArticleId))
            {
                throw ErrorMapping.Invalid($"The article id \"{r.ArticleId}\" is reserved: ids beginning with \"claims-\" name the " +
                                           $"claim openings of other articles.");
            }
            // An existing article with other text: the spans the revision carries are read first (nothing is read in the writer);
            // if another revision lands in between, the decision refuses rather than carry spans of an older text.
            var existing = await views.LoadAsync<ArticleView>(r.ArticleId, ct);
            var other = existing is not null && existing.ContentHash != Domain.Articles.ContentHash.Of(r.Text);
            var spans = other ? await ReviseArticle.Handler.LiveSpansAsync(views, r.ArticleId, ct) : null;
            var import = new Domain.Articles.ImportArticle(r.ArticleId, r.Title, r.Source, r.Text);
            var result = await commands.RunAsync(
                r.RequestId,
                Streams.Article(r.ArticleId),
                r.ArticleId,
                ArticleState.Initial,
                ArticleDecisions.Evolve,
                state => spans is null || !state.Exists || !ArticleDecisions.IsOtherText(state, r.Text)
                    ? ArticleDecisions.Decide(state, import, commands.Context())
                    : state.Revision != existing!.Revision
                        ? DomainError.Conflict(
                            $"Article {r.ArticleId} was revised meanwhile (now revision {state.Revision}); send the import again.")
                        : ArticleDecisions.Decide(
                            state,
                            new Domain.Articles.ReviseArticle(r.ArticleId, r.Text, "imported again", spans),
                            commands.Context()),
                ct);
            return new ImportArticleResponse
            {
                Result = result,
                Article = GetArticle.ToProto(await views.ArticleAsync(r.ArticleId, ct), withText: false),
            };
        }
    }
}
