using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.Server.Features.Claims;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;

namespace Annotate.Server.Features.Consensus;

/// <summary>A claim's consensus view: the stored one, or recomputed from the history as of a position or time; as the caller may see
/// it (<see cref="BlindClaims"/>).</summary>
public static class GetClaimView
{
    public sealed record Query(GetClaimViewRequest Request) : IRequest<ClaimView>;

    public sealed class Handler(Views views, ConsensusPolicy policy, IQuerySession session, CallerContext caller)
        : IRequestHandler<Query, ClaimView>
    {
        public async Task<ClaimView> Handle(Query query, CancellationToken ct)
        {
            var view = await ViewAsync(query, ct);
            return BlindClaims.AsSeenBy(view, await session.LoadAsync<BlindClaimDocument>(view.ClaimId, ct), caller.Caller);
        }

        private async Task<ClaimView> ViewAsync(Query query, CancellationToken ct)
        {
            var r = query.Request;
            // The views move with the log (inline projections): they have reached every committed position.
            if (r.MinPosition > 0 && await views.HeadAsync(ct) < (long)r.MinPosition)
            {
                throw new DomainException(
                    Domain.Errors.DomainError.FailedPrecondition($"Position {r.MinPosition} has not been committed; retry shortly.")
                );
            }
            var doc = await views.ClaimDocumentAsync(r.ClaimId, ct);
            if (r.AsOf is not { PointCase: not AsOf.PointOneofCase.None } asOf) return Mapping.ToProto(doc.View, policy);

            var (toPosition, toTime) = AsOfPoint.From(asOf);
            var all = await views.ClaimsAsOfAsync(doc.ArticleId, toPosition, toTime, ct);
            var view = all.FirstOrDefault(v => v.ClaimId == r.ClaimId)
                ?? throw ErrorMapping.NotFound($"Claim {r.ClaimId} did not exist yet at that point of the history.");
            return Mapping.ToProto(view, policy);
        }
    }
}
