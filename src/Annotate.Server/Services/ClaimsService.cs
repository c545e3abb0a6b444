using Annotate.Contracts.V1;
using Annotate.Server.Features.Claims;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.Claims.</summary>
public sealed class ClaimsService(IMediator mediator) : Claims.ClaimsBase
{
    public override Task<OpenClaimResponse> OpenClaim(OpenClaimRequest request, ServerCallContext context) =>
        mediator.Send(new OpenClaim.Command(request), context.CancellationToken);

    public override Task<CommandResult> TakeStance(TakeStanceRequest request, ServerCallContext context) =>
        mediator.Send(new TakeStance.Command(request), context.CancellationToken);

    public override Task<CommandResult> WithdrawStance(WithdrawStanceRequest request, ServerCallContext context) =>
        mediator.Send(new WithdrawStance.Command(request), context.CancellationToken);

    public override Task<CommandResult> Adjudicate(AdjudicateRequest request, ServerCallContext context) =>
        mediator.Send(new Adjudicate.Command(request), context.CancellationToken);

    public override Task<CommandResult> MakeBlind(MakeBlindRequest request, ServerCallContext context) =>
        mediator.Send(new MakeBlind.Command(request), context.CancellationToken);

    public override Task<CommandResult> RevealClaim(RevealClaimRequest request, ServerCallContext context) =>
        mediator.Send(new RevealClaim.Command(request), context.CancellationToken);

    public override Task<CommandResult> ReopenClaim(ReopenClaimRequest request, ServerCallContext context) =>
        mediator.Send(new ReopenClaim.Command(request), context.CancellationToken);
}
