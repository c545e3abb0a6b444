using Annotate.Contracts.V1;
using Annotate.Domain;
using Annotate.Domain.Claims;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Domain.Highlights;
using Annotate.Server.Features.Claims;
using Annotate.Server.Infrastructure;
using MediatR;
using HighlightDecisions = Annotate.Domain.Highlights.Highlight;
using Role = Annotate.Domain.Events.Role;
namespace Annotate.Server.Features.Annotations;

/// <summary>Applies and removes the caller's tags on highlights and claims (analyst).</summary>
public static class Tagging
{
    public sealed record Apply(ApplyTagRequest Request) : IRequest<CommandResult>;
    public sealed record Remove(RemoveTagRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Facts facts)
        : IRequestHandler<Apply, CommandResult>,
            IRequestHandler<Remove, CommandResult>
    {
        public Task<CommandResult> Handle(Apply command, CancellationToken ct) =>
            RunAsync(
                command.Request.RequestId,
                command.Request.Target,
                (kind, id) => new Domain.Tags.ApplyTag(kind, id, command.Request.Tag),
                ct);

        public Task<CommandResult> Handle(Remove command, CancellationToken ct) =>
            RunAsync(
                command.Request.RequestId,
                command.Request.Target,
                (kind, id) => new Domain.Tags.RemoveTag(kind, id, command.Request.Tag),
                ct);

        private async Task<CommandResult> RunAsync(
            string requestId,
            TagTarget? target,
            Func<TagTargetKind, string, object> make,
            CancellationToken ct)
        {
            switch (target?.TargetCase)
            {
                case TagTarget.TargetOneofCase.HighlightId:
                    {
                        var id = target.HighlightId;
                        var articleId = await facts.HighlightArticleAsync(id, ct);
                        var command = make(TagTargetKind.Highlight, id);
                        return await commands.RunAsync(
                            requestId,
                            Streams.Highlight(id),
                            articleId,
                            HighlightState.Initial,
                            HighlightDecisions.Evolve,
                            state =>
                                RetractedHighlights.Refuse(state, id)
                                ?? (command is Domain.Tags.ApplyTag a
                                    ? HighlightDecisions.Decide(state, a, commands.Context())
                                    : HighlightDecisions.Decide(state, (Domain.Tags.RemoveTag)command, commands.Context())),
                            ct);
                    }
                case TagTarget.TargetOneofCase.ClaimId:
                    {
                        var command = make(TagTargetKind.Claim, target.ClaimId);
                        return await ClaimLoading.RunAsync(
                            facts,
                            commands,
                            requestId,
                            target.ClaimId,
                            state =>
                                command is Domain.Tags.ApplyTag a
                                    ? Claim.Decide(state, a, commands.Context())
                                    : Claim.Decide(state, (Domain.Tags.RemoveTag)command, commands.Context()),
                            ct);
                    }
                default:
                    throw new DomainException(DomainError.Invalid("target needs a highlight_id or a claim_id."));
            }
        }
    }
}
