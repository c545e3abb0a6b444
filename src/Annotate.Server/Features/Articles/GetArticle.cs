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

    public static Article ToProto(JsonObject doc, bool withText) => new()
    {
        ArticleId = doc["articleId"]!.GetValue<string>(),
        Title = doc["title"]!.GetValue<string>(),
        Text = withText ? doc["text"]!.GetValue<string>() : "",
        Source = doc["source"]!.GetValue<string>(),
        Revision = 1,
        ContentHash = doc["contentHash"]!.GetValue<string>().Replace("sha256:", "", StringComparison.Ordinal),
        Length = doc["length"]!.GetValue<uint>(),
        ImportedAt = Mapping.ToTimestamp(doc["importedAt"]),
        ImportedBy = doc["importedBy"]!.GetValue<string>(),
        Position = doc["position"]!.GetValue<ulong>(),
    };
}
