using Annotate.Contracts.V1;
using Annotate.Server.Features.Annotations;
using Grpc.Core;
using MediatR;

namespace Annotate.Server.Services;

/// <summary>annotate.v1.Annotations.</summary>
public sealed class AnnotationsService(IMediator mediator) : Annotations.AnnotationsBase
{
    public override Task<CreateHighlightResponse> CreateHighlight(CreateHighlightRequest request, ServerCallContext context) =>
        mediator.Send(new CreateHighlight.Command(request), context.CancellationToken);

    public override Task<CommandResult> ApplyTag(ApplyTagRequest request, ServerCallContext context) =>
        mediator.Send(new Tagging.Apply(request), context.CancellationToken);

    public override Task<CommandResult> RemoveTag(RemoveTagRequest request, ServerCallContext context) =>
        mediator.Send(new Tagging.Remove(request), context.CancellationToken);

    public override Task<CommandResult> RetractHighlight(RetractHighlightRequest request, ServerCallContext context) =>
        mediator.Send(new RetractHighlight.Command(request), context.CancellationToken);

    public override Task<ListHighlightsResponse> ListHighlights(ListHighlightsRequest request, ServerCallContext context) =>
        mediator.Send(new ListHighlights.Query(request), context.CancellationToken);

    public override Task<ReattachSpanResponse> ReattachSpan(ReattachSpanRequest request, ServerCallContext context) =>
        mediator.Send(new ReattachSpan.Command(request), context.CancellationToken);
}
