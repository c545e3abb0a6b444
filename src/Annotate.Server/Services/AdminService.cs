using Annotate.Contracts.V1;
using Annotate.Server.Features.Admin;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.Admin.</summary>
public sealed class AdminService(IMediator mediator) : Admin.AdminBase
{
    public override Task<Analyst> CreateAnalyst(CreateAnalystRequest request, ServerCallContext context) =>
        mediator.Send(new CreateAnalyst.Command(request), context.CancellationToken);

    public override Task<ListAnalystsResponse> ListAnalysts(ListAnalystsRequest request, ServerCallContext context) =>
        mediator.Send(new ListAnalysts.Query(request), context.CancellationToken);

    public override Task<Analyst> SetRoles(SetRolesRequest request, ServerCallContext context) =>
        mediator.Send(new SetRoles.Command(request), context.CancellationToken);

    public override Task<IssueTokenResponse> IssueToken(IssueTokenRequest request, ServerCallContext context) =>
        mediator.Send(new IssueToken.Command(request), context.CancellationToken);

    public override Task<ListTokensResponse> ListTokens(ListTokensRequest request, ServerCallContext context) =>
        mediator.Send(new ListTokens.Query(request), context.CancellationToken);

    public override Task<CommandResult> RevokeToken(RevokeTokenRequest request, ServerCallContext context) =>
        mediator.Send(new RevokeToken.Command(request), context.CancellationToken);

    public override Task<EraseAnalystResponse> EraseAnalyst(EraseAnalystRequest request, ServerCallContext context) =>
        mediator.Send(new EraseAnalyst.Command(request), context.CancellationToken);

    public override Task<Analyst> WhoAmI(WhoAmIRequest request, ServerCallContext context) =>
        mediator.Send(new WhoAmI.Query(request), context.CancellationToken);
}
