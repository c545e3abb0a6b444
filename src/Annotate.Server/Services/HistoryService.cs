using Annotate.Contracts.V1;
using Annotate.Server.Features.History;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.History.</summary>
public sealed class HistoryService(IMediator mediator) : History.HistoryBase
{
    public override Task Subscribe(
        SubscribeRequest request,
        IServerStreamWriter<SubscribeResponse> responseStream,
        ServerCallContext context
    ) => mediator.StreamAsync(new Subscribe.Query(request), responseStream, context);

    public override Task Replay(ReplayRequest request, IServerStreamWriter<HistoryEvent> responseStream, ServerCallContext context) =>
        mediator.StreamAsync(new Replay.Query(request), responseStream, context);

    public override Task VerifyAudit(
        VerifyAuditRequest request,
        IServerStreamWriter<VerifyAuditResponse> responseStream,
        ServerCallContext context
    ) => mediator.StreamAsync(new VerifyAudit.Query(request), responseStream, context);
}
