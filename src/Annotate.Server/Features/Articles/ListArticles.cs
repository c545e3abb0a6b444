using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Articles;

/// <summary>Articles without their text, ordered by id, paged.</summary>
public static class ListArticles
{
    public sealed record Query(ListArticlesRequest Request) : IRequest<ListArticlesResponse>;

    public sealed class Handler(Views views) : IRequestHandler<Query, ListArticlesResponse>
    {
        public async Task<ListArticlesResponse> Handle(Query query, CancellationToken ct)
        {
            var all = await views.ArticlesAsync(ct);
            var (page, next) = Paging.Take(all, query.Request.Page, doc => doc.Id);
            var response = new ListArticlesResponse { NextPageToken = next };
            response.Articles.AddRange(page.Select(doc => GetArticle.ToProto(doc, withText: false)));
            return response;
        }
    }
}
