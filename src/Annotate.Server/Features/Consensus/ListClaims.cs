using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.Server.Features.Claims;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;

namespace Annotate.Server.Features.Consensus;

/// <summary>An article's claims by span start, filtered by status, paged; now or as of a position or time.</summary>
public static class ListClaims
{
    public sealed record Query(ListClaimsRequest Request) : IRequest<ListClaimsResponse>;

    public sealed class Handler(Views views, ConsensusPolicy policy, IQuerySession session, CallerContext caller)
        : IRequestHandler<Query, ListClaimsResponse>
    {
        public async Task<ListClaimsResponse> Handle(Query query, CancellationToken ct)
        {
            var r = query.Request;
            var (claims, position) = await ClaimsOfAsync(views, policy, r.ArticleId, r.AsOf, ct);
            var wanted = r.Statuses.ToHashSet();
            // Filtered after hiding: a hidden claim's status is unspecified, so a status filter leaves it out.
            var seen = await BlindClaims.AsSeenByAsync(session, claims.Select(c => Mapping.ToProto(c, policy)), caller.Caller, ct);
            var filtered = seen.Where(v => wanted.Count == 0 || wanted.Contains(v.Status)).ToList();
            var (page, next) = Paging.Take(filtered, r.Page, v => v.ClaimId);
            var response = new ListClaimsResponse { NextPageToken = next, AsOfPosition = (ulong)position };
            response.Claims.AddRange(page);
            return response;
        }
    }

    /// <summary>An article's consensus views ordered by span start, and the position they reflect.</summary>
    public static async Task<(IReadOnlyList<ClaimConsensus> Claims, long Position)> ClaimsOfAsync(
        Views views,
        ConsensusPolicy policy,
        string articleId,
        AsOf? asOf,
        CancellationToken ct)
    {
        await views.ArticleAsync(articleId, ct);
        if (asOf is { PointCase: not AsOf.PointOneofCase.None })
        {
            var (toPosition, toTime) = AsOfPoint.From(asOf);
            var folded = await views.ClaimsAsOfAsync(articleId, toPosition, toTime, ct);
            return (folded, await AsOfPoint.PositionAsync(views, toPosition, toTime, ct));
        }
        return await views.ClaimsOfAsync(articleId, ct);
    }
}
