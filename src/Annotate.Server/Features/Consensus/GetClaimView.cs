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
            if (r.MinPosition > 0 && !await views.WaitForAsync((long)r.MinPosition, ct, TimeSpan.FromSeconds(30)))
            {
                throw new DomainException(
                    Domain.Errors.DomainError.FailedPrecondition($"The views have not reached position {r.MinPosition} yet; retry shortly.")
                );
            }
            var doc = await views.ClaimDocumentAsync(r.ClaimId, ct);
            if (r.AsOf is not { PointCase: not AsOf.PointOneofCase.None } asOf) return Mapping.ToProto(Views.ClaimView(doc), policy);

            var (toPosition, toTime) = AsOfPoint.From(asOf);
            var all = await views.ClaimsAsOfAsync(doc["articleId"]!.GetValue<string>(), toPosition, toTime, policy, ct);
            var view = all.FirstOrDefault(v => v.ClaimId == r.ClaimId)
                ?? throw ErrorMapping.NotFound($"Claim {r.ClaimId} did not exist yet at that point of the history.");
            return Mapping.ToProto(view, policy);
        }
    }
}
