using Annotate.Contracts.V1;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.Consensus.</summary>
public sealed class ConsensusService(IMediator mediator) : Consensus.ConsensusBase
{
    public override Task<ClaimView> GetClaimView(GetClaimViewRequest request, ServerCallContext context) =>
        mediator.Send(new GetClaimView.Query(request), context.CancellationToken);

    public override Task<ListClaimsResponse> ListClaims(ListClaimsRequest request, ServerCallContext context) =>
        mediator.Send(new ListClaims.Query(request), context.CancellationToken);

    public override Task<ArticleAgreement> GetArticleAgreement(GetArticleAgreementRequest request, ServerCallContext context) =>
        mediator.Send(new GetArticleAgreement.Query(request), context.CancellationToken);

    public override Task WatchArticle(
        WatchArticleRequest request,
        IServerStreamWriter<WatchArticleResponse> responseStream,
        ServerCallContext context
    ) => mediator.StreamAsync(new WatchArticle.Query(request), responseStream, context);
}
