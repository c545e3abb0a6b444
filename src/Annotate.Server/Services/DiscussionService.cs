using Annotate.Contracts.V1;
using Annotate.Server.Features.Discussion;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.Discussion.</summary>
public sealed class DiscussionService(IMediator mediator) : Contracts.V1.Discussion.DiscussionBase
{
    public override Task<PostReplyResponse> PostReply(PostReplyRequest request, ServerCallContext context) =>
        mediator.Send(new PostReply.Command(request), context.CancellationToken);

    public override Task<CommandResult> EditReply(EditReplyRequest request, ServerCallContext context) =>
        mediator.Send(new EditReply.Command(request), context.CancellationToken);

    public override Task<CommandResult> RetractReply(RetractReplyRequest request, ServerCallContext context) =>
        mediator.Send(new RetractReply.Command(request), context.CancellationToken);

    public override Task<ListThreadResponse> ListThread(ListThreadRequest request, ServerCallContext context) =>
        mediator.Send(new ListThread.Query(request), context.CancellationToken);
}
