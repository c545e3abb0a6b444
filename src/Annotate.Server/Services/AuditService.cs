using Annotate.Contracts.V1;
using Annotate.Server.Features.Audit;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.Audit.</summary>
public sealed class AuditService(IMediator mediator) : Contracts.V1.Audit.AuditBase
{
    public override Task<ChainHead> GetChainHead(GetChainHeadRequest request, ServerCallContext context) =>
        mediator.Send(new GetChainHead.Query(request), context.CancellationToken);

    public override Task ExportLog(
        ExportLogRequest request,
        IServerStreamWriter<ExportedEvent> responseStream,
        ServerCallContext context
    ) => mediator.StreamAsync(new ExportLog.Query(request), responseStream, context);

    public override Task<ClaimTimeline> GetClaimTimeline(GetClaimTimelineRequest request, ServerCallContext context) =>
        mediator.Send(new GetClaimTimeline.Query(request), context.CancellationToken);
}
