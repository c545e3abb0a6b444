using Annotate.Contracts.V1;
using Annotate.Domain.Articles;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;
using ArticleDecisions = Annotate.Domain.Articles.Article;
using Role = Annotate.Domain.Events.Role;
namespace Annotate.Server.Features.Articles;

/// <summary>Imports an article's text (admin). The same text again changes nothing; other text under the same id is refused.</summary>
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
            var result = await commands.RunAsync(
                r.RequestId,
                Streams.Article(r.ArticleId),
                r.ArticleId,
                ArticleState.Initial,
                ArticleDecisions.Evolve,
                state =>
                    ArticleDecisions.Decide(
                        state,
                        new Domain.Articles.ImportArticle(r.ArticleId, r.Title, r.Source, r.Text),
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
