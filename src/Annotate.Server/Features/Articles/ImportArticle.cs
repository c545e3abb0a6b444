using Annotate.Contracts.V1;
using Annotate.Domain.Articles;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;

using Role = Annotate.Domain.Events.Role;

using ArticleDecisions = Annotate.Domain.Articles.Article;
namespace Annotate.Server.Features.Articles;

/// <summary>Imports an article's text (admin). The same text again changes nothing; other text under the same id is refused.</summary>
public static class ImportArticle
{
    [Requires(Role.Admin)]
    public sealed record Command(ImportArticleRequest Request) : IRequest<ImportArticleResponse>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, ImportArticleResponse>
    {
        public async Task<ImportArticleResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var result = await commands.RunAsync(r.RequestId, Streams.Article(r.ArticleId), r.ArticleId,
                ArticleState.Initial, ArticleDecisions.Evolve,
                state => ArticleDecisions.Decide(state, new Domain.Articles.ImportArticle(r.ArticleId, r.Title, r.Source, r.Text), commands.Context()), ct);
            return new ImportArticleResponse { Result = result, Article = GetArticle.ToProto(await views.ArticleAsync(r.ArticleId, ct), withText: false) };
        }
    }
}
