using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Annotations;

/// <summary>An article's highlights with tags and authors, now or as of a position or time (folded from the history).</summary>
public static class ListHighlights
{
    public sealed record Query(ListHighlightsRequest Request) : IRequest<ListHighlightsResponse>;

    public sealed class Handler(Views views) : IRequestHandler<Query, ListHighlightsResponse>
    {
        public async Task<ListHighlightsResponse> Handle(Query query, CancellationToken ct)
        {
            var r = query.Request;
            await views.ArticleAsync(r.ArticleId, ct);
            List<JsonObject> docs;
            long position;
            if (r.AsOf is { PointCase: not AsOf.PointOneofCase.None } asOf)
            {
                var (toPosition, toTime) = AsOfPoint.From(asOf);
                var projection = new HighlightsProjection();
                var folded = await ProjectionRunner.ComputeAsOfAsync(views.Store, projection, toPosition, toTime, cancellationToken: ct);
                docs = folded.Values.Where(d => d["articleId"]!.GetValue<string>() == r.ArticleId).ToList();
                position = await AsOfPoint.PositionAsync(views, toPosition, toTime, ct);
            }
            else
            {
                position = await views.HeadAsync(ct);
                docs = await views.ListAsync(Projections.Highlights, null, "articleId", r.ArticleId, ct);
            }
            var response = new ListHighlightsResponse { AsOfPosition = (ulong)position };
            response.Highlights.AddRange(docs.Select(ToProto).OrderBy(h => h.Selector.Position.Start).ThenBy(h => h.Position));
            return response;
        }
    }

    public static Highlight ToProto(JsonObject doc)
    {
        var highlight = new Highlight
        {
            HighlightId = doc["highlightId"]!.GetValue<string>(),
            ArticleId = doc["articleId"]!.GetValue<string>(),
            Selector = Mapping.ToProto(doc["start"]!.GetValue<int>(), doc["end"]!.GetValue<int>(), doc["exact"]!.GetValue<string>(),
                doc["prefix"]!.GetValue<string>(), doc["suffix"]!.GetValue<string>()),
            Note = doc["note"]?.GetValue<string>() ?? "",
            Author = doc["analyst"]!.GetValue<string>(),
            CreatedAt = Mapping.ToTimestamp(doc["createdAt"]),
            // Stored as a long; a document folded in memory (as-of answers) holds a long node, not a parsed number.
            Position = (ulong)doc["position"]!.GetValue<long>(),
        };
        foreach (var (tag, analysts) in doc["tags"]!.AsObject().OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            highlight.Tags.Add(new TagApplication { Tag = tag, Analysts = { analysts!.AsArray().Select(a => a!.GetValue<string>()) } });
        }
        return highlight;
    }
}
