using Annotate.Contracts.V1;
using Annotate.Domain.Highlights;
using Annotate.Server.Infrastructure;
using MediatR;

using HighlightDecisions = Annotate.Domain.Highlights.Highlight;
namespace Annotate.Server.Features.Annotations;

/// <summary>Retracts a highlight; only its author may (the domain refuses anyone else).</summary>
public static class RetractHighlight
{
    public sealed record Command(RetractHighlightRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, CommandResult>
    {
        public async Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            if (await commands.PriorResultAsync(r.RequestId, ct) is { } prior) return prior;
            var doc = await views.LoadAsync<HighlightView>(r.HighlightId, ct)
                ?? throw ErrorMapping.NotFound($"No highlight \"{r.HighlightId}\" (or it was already retracted).");
            return await commands.RunAsync(r.RequestId, Streams.Highlight(r.HighlightId), doc.ArticleId,
                HighlightState.Initial, HighlightDecisions.Evolve,
                state => HighlightDecisions.Decide(state, new Domain.Highlights.RetractHighlight(r.HighlightId), commands.Context()), ct);
        }
    }
}
