using Annotate.Contracts.V1;
using Annotate.Server.Features.Articles;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

// Services/ holds one class per service of protos/annotate/v1 and nothing else: the whole public surface of
// the server in six short files, each line an RPC and the feature (Features/<Area>/) that answers it. Roles
// come from Infrastructure/AccessRules.cs; refusals become status codes in Transport/ErrorInterceptor.cs.

/// <summary>annotate.v1.Articles.</summary>
public sealed class ArticlesService(IMediator mediator) : Articles.ArticlesBase
{
    public override Task<ImportArticleResponse> ImportArticle(ImportArticleRequest request, ServerCallContext context) =>
        mediator.Send(new ImportArticle.Command(request), context.CancellationToken);

    public override Task<ListArticlesResponse> ListArticles(ListArticlesRequest request, ServerCallContext context) =>
        mediator.Send(new ListArticles.Query(request), context.CancellationToken);

    public override Task<Article> GetArticle(GetArticleRequest request, ServerCallContext context) =>
        mediator.Send(new GetArticle.Query(request), context.CancellationToken);

    public override Task<ReviseArticleResponse> ReviseArticle(ReviseArticleRequest request, ServerCallContext context) =>
        mediator.Send(new ReviseArticle.Command(request), context.CancellationToken);
}
