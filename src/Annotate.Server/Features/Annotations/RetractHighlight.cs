using Annotate.Contracts.V1;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Domain.Highlights;
using Annotate.Server.Infrastructure;
using MediatR;

using HighlightDecisions = Annotate.Domain.Highlights.Highlight;
namespace Annotate.Server.Features.Annotations;

/// <summary>Retracts a highlight; only its author may (the domain refuses anyone else).</summary>
public static class RetractHighlight
{
    public sealed record Command(RetractHighlightRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Facts facts) : IRequestHandler<Command, CommandResult>
    {
        public async Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var articleId = await facts.HighlightArticleAsync(r.HighlightId, ct);
            return await commands.RunAsync(r.RequestId, Streams.Highlight(r.HighlightId), articleId,
                HighlightState.Initial, HighlightDecisions.Evolve,
                state => RetractedHighlights.Refuse(state, r.HighlightId)
                    ?? HighlightDecisions.Decide(state, new Domain.Highlights.RetractHighlight(r.HighlightId), commands.Context()), ct);
        }
    }
}

/// <summary>
/// A retracted highlight is answered as one that no longer exists (it is no longer listed): NOT_FOUND for anything a new
/// request asks of it. Decided in the writer, so a retried request is still answered with its original result.
/// </summary>
internal static class RetractedHighlights
{
    public static Result<IReadOnlyList<IDomainEvent>>? Refuse(HighlightState state, string highlightId) =>
        state.Retracted
            ? Result<IReadOnlyList<IDomainEvent>>.Fail(DomainError.NotFound($"No highlight \"{highlightId}\" (or it was retracted)."))
            : (Result<IReadOnlyList<IDomainEvent>>?)null;
}
