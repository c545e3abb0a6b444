using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Annotations;

/// <summary>An article's highlights with tags and authors, now or as of a position or time (folded from the history).</summary>
public static class ListHighlights
{
    public sealed record Query(ListHighlightsRequest Request) : IRequest<ListHighlightsResponse>;

    public sealed class Handler(ReadReplica reads) : IRequestHandler<Query, ListHighlightsResponse>
    {
        public async Task<ListHighlightsResponse> Handle(Query query, CancellationToken ct)
        {
            var r = query.Request;
            return await reads.ReadAsync(AsOfPoint.Needs(r.AsOf), views => ListAsync(views, r, ct), ct);
        }

        private static async Task<ListHighlightsResponse> ListAsync(Views views, ListHighlightsRequest r, CancellationToken ct)
        {
            await views.ArticleAsync(r.ArticleId, ct);
            IReadOnlyList<HighlightView> docs;
            long position;
            if (r.AsOf is { PointCase: not AsOf.PointOneofCase.None } asOf)
            {
                var (toPosition, toTime) = AsOfPoint.From(asOf);
                docs = await views.HighlightsAsOfAsync(r.ArticleId, toPosition, toTime, ct);
                position = await AsOfPoint.PositionAsync(views, toPosition, toTime, ct);
            }
            else
            {
                (docs, position) = await views.HighlightsOfAsync(r.ArticleId, ct);
            }
            var response = new ListHighlightsResponse { AsOfPosition = (ulong)position };
            response.Highlights.AddRange(docs.Select(ToProto).OrderBy(h => h.Selector.Position.Start).ThenBy(h => h.Position));
            return response;
        }
    }

    public static Highlight ToProto(HighlightView doc)
    {
        var highlight = new Highlight
        {
            HighlightId = doc.Id,
            ArticleId = doc.ArticleId,
            Selector = Mapping.ToProto(doc.Start, doc.End, doc.Exact, doc.Prefix, doc.Suffix),
            Note = doc.Note ?? "",
            Author = doc.Analyst,
            CreatedAt = Mapping.ToTimestamp(doc.CreatedAt),
            Position = (ulong)doc.Position,
            Anchor = Mapping.ToProto(doc.Anchor),
        };
        foreach (var (tag, analysts) in doc.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            highlight.Tags.Add(new TagApplication { Tag = tag, Analysts = { analysts } });
        }
        return highlight;
    }
}
