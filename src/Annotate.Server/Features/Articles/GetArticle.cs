using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Articles;

/// <summary>One article with its text.</summary>
public static class GetArticle
{
    public sealed record Query(GetArticleRequest Request) : IRequest<Article>;

    public sealed class Handler(Views views) : IRequestHandler<Query, Article>
    {
        public async Task<Article> Handle(Query query, CancellationToken ct) =>
            ToProto(await views.ArticleAsync(query.Request.ArticleId, ct), withText: true);
    }

    public static Article ToProto(ArticleView doc, bool withText)
    {
        var article = new Article
        {
            ArticleId = doc.Id,
            Title = doc.Title,
            Text = withText ? doc.Text : "",
            Source = doc.Source,
            Revision = (uint)doc.Revision,
            ContentHash = doc.ContentHash.Replace("sha256:", "", StringComparison.Ordinal),
            Length = (uint)doc.Length,
            ImportedAt = Mapping.ToTimestamp(doc.ImportedAt),
            ImportedBy = doc.ImportedBy,
            Position = (ulong)doc.Position,
            RevisedBy = doc.RevisedBy,
            RevisionReason = doc.RevisionReason,
        };
        if (doc.RevisedAt is { } revisedAt) article.RevisedAt = Mapping.ToTimestamp(revisedAt);
        return article;
    }
}
