using Annotate.Contracts.V1;
using Annotate.Domain.Anchoring;
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

    public sealed class Handler(Commands commands, Views views, Facts facts) : IRequestHandler<Command, CreateHighlightResponse>
    {
        public Task<CreateHighlightResponse> Handle(Command command, CancellationToken ct) =>
            views.ResolvingAsync(texts => HandleAsync(command.Request, texts, ct));

        private async Task<CreateHighlightResponse> HandleAsync(CreateHighlightRequest r, ArticleTexts texts, CancellationToken ct)
        {
            var id = commands.NewId("h", r.RequestId);
            var text = (await texts.GetAsync(r.ArticleId, ct)).Expecting(r.Revision);
            var (document, revision) = (text.Document, text.Revision);
            var selector = Mapping.ToDomain(r.Selector);
            // The events of the decision that counted (the writer's last run of it); none when the request was a retry
            // answered with the original append without deciding.
            List<IDomainEvent>? decided = null;
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
                decided = events;
                return events;
            }, ct, [text]);
            facts.KeepHighlight(id, r.ArticleId); // a command on the new highlight finds its article kept
            var doc = result.Deduplicated || decided is null
                ? await views.LoadAsync<HighlightView>(id, ct) ?? throw ErrorMapping.NotFound($"Highlight {id} was retracted.")
                : ViewOf(id, decided, result, revision);
            return new CreateHighlightResponse { Result = result, Highlight = ListHighlights.ToProto(doc) };
        }
    }

    private static readonly HighlightViewProjection Projection = new();

    /// <summary>
    /// The stored view of a highlight just created, folded from the events this command appended by the view's own
    /// function instead of read back: an append's events sit at consecutive positions ending at the answer's, recorded at
    /// its time, and a new highlight is on the revision its span was decided against.
    /// </summary>
    private static HighlightView ViewOf(string id, List<IDomainEvent> events, CommandResult result, int revision)
    {
        HighlightView? view = null;
        var position = (long)result.Position - events.Count;
        var recordedAt = result.RecordedAt.ToDateTime();
        foreach (var e in events) view = Projection.Apply(view, id, new ViewEvent(++position, recordedAt, result.StreamId, e));
        view!.Anchor ??= SpanAnchor.On(revision);
        return view;
    }
}
