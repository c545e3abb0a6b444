using Annotate.Contracts.V1;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Claims;
using Annotate.Domain.Highlights;
using Annotate.Server.Features.Claims;
using Annotate.Server.Infrastructure;
using MediatR;
using DomainKind = Annotate.Domain.Events.AnchorKind;
using HighlightDecisions = Annotate.Domain.Highlights.Highlight;
using Selector = Annotate.Domain.Anchoring.Selector;

namespace Annotate.Server.Features.Annotations;

/// <summary>
/// Reviews a span a revision orphaned or moved (<see cref="Reattach"/>): the span's author, an adjudicator or an admin attaches it
/// to a selector on the current text, or confirms where the revision put it. The span's state is read from its view against
/// the article's current revision; the decision is taken in the writer on the highlight's or claim's stream and refused if a
/// revision lands in between (the read would be stale).
/// </summary>
public static class ReattachSpan
{
    public sealed record Command(ReattachSpanRequest Request) : IRequest<ReattachSpanResponse>;

    public sealed class Handler(Commands commands, Views views, Facts facts) : IRequestHandler<Command, ReattachSpanResponse>
    {
        public async Task<ReattachSpanResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            Commands.RequireRequestId(r.RequestId);
            var selector = r.Selector is null ? null : Mapping.ToDomain(r.Selector);
            return r.Target?.TargetCase switch
            {
                TagTarget.TargetOneofCase.HighlightId =>
                    await views.ResolvingAsync(texts => HighlightAsync(r, r.Target.HighlightId, selector, texts, ct)),
                TagTarget.TargetOneofCase.ClaimId =>
                    await views.ResolvingAsync(texts => ClaimAsync(r, r.Target.ClaimId, selector, texts, ct)),
                _ => throw ErrorMapping.Invalid("target needs a highlight_id or a claim_id."),
            };
        }

        private async Task<ReattachSpanResponse> HighlightAsync(ReattachSpanRequest r, string id, Selector? selector, ArticleTexts texts,
            CancellationToken ct)
        {
            var articleId = await facts.HighlightArticleAsync(id, ct);
            var text = await texts.GetAsync(articleId, ct);
            var view = await views.LoadAsync<HighlightView>(id, ct)
                ?? throw ErrorMapping.NotFound($"No highlight \"{id}\" (or it was retracted).");
            var span = new ResolvedAnchor(view.Start, view.End, view.Exact, view.Prefix, view.Suffix);
            var request = new Domain.Anchoring.ReattachSpan(
                DomainKind.Highlight, id, articleId, text.Revision, text.Document, view.Anchor, span, selector);
            var result = await commands.RunAsync(r.RequestId, Streams.Highlight(id), articleId, HighlightState.Initial,
                HighlightDecisions.Evolve,
                state => RetractedHighlights.Refuse(state, id)
                    ?? Reattach.Decide(request, state.Author, state.ReattachedOn, commands.Context()),
                ct, [text]);
            var after = await views.LoadAsync<HighlightView>(id, ct) ?? throw ErrorMapping.NotFound($"Highlight {id} was retracted.");
            return new ReattachSpanResponse
            {
                Result = result,
                Selector = Mapping.ToProto(after.Start, after.End, after.Exact, after.Prefix, after.Suffix),
                Anchor = Mapping.ToProto(after.Anchor),
            };
        }

        private async Task<ReattachSpanResponse> ClaimAsync(ReattachSpanRequest r, string id, Selector? selector, ArticleTexts texts,
            CancellationToken ct)
        {
            var claim = await facts.ClaimAsync(id, ct);
            var text = await texts.GetAsync(claim.ArticleId, ct);
            var view = (await views.ClaimDocumentAsync(id, ct)).View;
            var span = new ResolvedAnchor(view.Start, view.End, view.Exact, view.Prefix, view.Suffix);
            var request = new Domain.Anchoring.ReattachSpan(
                DomainKind.Claim, id, claim.ArticleId, text.Revision, text.Document, view.Anchor, span, selector);
            var result = await commands.RunAsync(r.RequestId, Streams.Claim(id), claim.ArticleId,
                claim.Opening.Aggregate(ClaimState.Initial, Claim.Evolve), Claim.Evolve,
                state => Reattach.Decide(request, state.OpenedBy, state.ReattachedOn, commands.Context()),
                ct, [text]);
            var after = (await views.ClaimDocumentAsync(id, ct)).View;
            return new ReattachSpanResponse
            {
                Result = result,
                Selector = Mapping.ToProto(after.Start, after.End, after.Exact, after.Prefix, after.Suffix),
                Anchor = Mapping.ToProto(after.Anchor),
            };
        }
    }
}
