using Annotate.Contracts.V1;
using Annotate.Domain.Consensus;
using Annotate.Server.Features.Claims;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;

namespace Annotate.Server.Features.Consensus;

/// <summary>Krippendorff's alpha (nominal) over an article's claims and analysts' current stances, leaving out the claims hidden
/// from the caller.</summary>
public static class GetArticleAgreement
{
    public sealed record Query(GetArticleAgreementRequest Request) : IRequest<ArticleAgreement>;

    public sealed class Handler(Views views, ConsensusPolicy policy, IQuerySession session, CallerContext caller)
        : IRequestHandler<Query, ArticleAgreement>
    {
        public async Task<ArticleAgreement> Handle(Query query, CancellationToken ct)
        {
            var r = query.Request;
            var (all, position) = await ListClaims.ClaimsOfAsync(views, policy, r.ArticleId, r.AsOf, ct);
            var blind = await BlindClaims.LoadAsync(session, all.Select(c => c.ClaimId), ct);
            var claims = all.Where(c => !BlindClaims.HiddenFrom(blind.GetValueOrDefault(c.ClaimId), caller.Caller)).ToList();
            var alpha = KrippendorffAlpha.ForClaims(claims);
            var agreement = new ArticleAgreement
            {
                ArticleId = r.ArticleId,
                ObservedDisagreement = alpha.ObservedDisagreement,
                ExpectedDisagreement = alpha.ExpectedDisagreement,
                Units = (uint)claims.Count(c => c.Stances.Count >= 2),
                Analysts = (uint)claims.SelectMany(c => c.Stances.Select(s => s.Analyst)).Distinct().Count(),
                PairableValues = (uint)alpha.PairableValues,
                AsOfPosition = (ulong)position,
            };
            if (alpha.Alpha is { } a) agreement.Alpha = a;
            return agreement;
        }
    }
}
