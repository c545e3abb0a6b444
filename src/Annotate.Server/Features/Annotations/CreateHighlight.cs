using Annotate.Contracts.V1;
using Annotate.Domain.Events;
using Annotate.Domain.Highlights;
using Annotate.Domain.Tags;
using Annotate.Server.Infrastructure;
using MediatR;
using Highlight = Annotate.Domain.Highlights.Highlight;

using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Annotations;

/// <summary>Highlights a span (analyst), with an optional note and tags applied in the same append.</summary>
public static class CreateHighlight
{
    public sealed record Command(CreateHighlightRequest Request) : IRequest<CreateHighlightResponse>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, CreateHighlightResponse>
    {
        public async Task<CreateHighlightResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var id = commands.NewId("h", r.RequestId);
            var text = (await views.ResolvingAsync(r.ArticleId, ct)).Expecting(r.Revision);
            var document = text.Document;
            var selector = Mapping.ToDomain(r.Selector);
            var result = await commands.RunAsync(
                r.RequestId,
                Streams.Highlight(id),
                r.ArticleId,
                HighlightState.Initial,
                Highlight.Evolve,
                state =>
            {
                var context = commands.Context(id);
                var created = Highlight
                    .Decide(
                        state,
                        new Domain.Highlights.CreateHighlight(
                            r.ArticleId,
                            document,
                            selector,
                            string.IsNullOrEmpty(r.Note) ? null : r.Note),
                        context)
                    .OrThrow();
                var events = created.ToList();
                var after = created.Aggregate(state, Highlight.Evolve);
                foreach (var tag in r.Tags)
                {
                    var tagged = Highlight.Decide(after, new Domain.Tags.ApplyTag(TagTargetKind.Highlight, id, tag), context).OrThrow();
                    events.AddRange(tagged);
                    after = tagged.Aggregate(after, Highlight.Evolve);
                }
                return events;
            }, ct, [text]);
            var doc = await views.LoadAsync<HighlightView>(id, ct)
                ?? throw ErrorMapping.NotFound($"Highlight {id} was retracted.");
            return new CreateHighlightResponse { Result = result, Highlight = ListHighlights.ToProto(doc) };
        }
    }
}
