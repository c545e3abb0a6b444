using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Events;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Infrastructure;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Claims;

/// <summary>
/// Opens a claim on a span (analyst), or answers the existing claim covering the same text. The decision is taken by
/// the writer against the article's claim stream, in turn with every other opening of that article (on any replica),
/// so two analysts racing for the same span serialize: the second finds the first's claim.
/// </summary>
public static class OpenClaim
{
    public sealed record Command(OpenClaimRequest Request) : IRequest<OpenClaimResponse>;

    /// <summary>The result of an opening as a later command that finds the claim answers it.</summary>
    private static CommandResult Deduplicated(CommandResult opened)
    {
        var result = opened.Clone();
        result.Deduplicated = true;
        return result;
    }

    public sealed class Handler(Commands commands, Views views, Facts facts) : IRequestHandler<Command, OpenClaimResponse>
    {
        public Task<OpenClaimResponse> Handle(Command command, CancellationToken ct) =>
            views.ResolvingAsync(texts => HandleAsync(command.Request, texts, ct));

        private async Task<OpenClaimResponse> HandleAsync(OpenClaimRequest r, ArticleTexts texts, CancellationToken ct)
        {
            var id = commands.NewId("c", r.RequestId);
            var text = (await texts.GetAsync(r.ArticleId, ct)).Expecting(r.Revision);
            var (document, revision) = (text.Document, text.Revision);
            var selector = Mapping.ToDomain(r.Selector);
            // Claims' current spans matter only once the article has been revised (the read of the text says whether).
            var spans = revision == 1 ? null : await Articles.RevisedClaims.CurrentSpansAsync(views, r.ArticleId, ct);
            // The outcome of the decision that counted (the writer's last run of it); none when the request was a retry
            // of one that opened the claim (answered with that append without deciding).
            OpenClaimOutcome? outcome = null;
            var result = await commands.RunAsync(r.RequestId, Streams.ArticleClaims(r.ArticleId), r.ArticleId,
                ClaimIndex.Empty(r.ArticleId), ClaimIndex.Evolve,
                index => Claim.Decide(
                        spans is null ? index : index.OnCurrentText(spans),
                        new Domain.Claims.OpenClaim(r.ArticleId, document, selector, r.Statement),
                        commands.Context(id))
                    .Map(o =>
                    {
                        outcome = o;
                        return o.Events;
                    }),
                ct, [text]);
            var claimId = outcome?.ClaimId ?? id;
            var response = new OpenClaimResponse
            {
                Result = result,
                ClaimId = claimId,
                Existing = outcome is { Existing: true } && !(result.Deduplicated && claimId == id),
            };
            if (!result.Deduplicated && outcome is { Events: [ClaimOpened opened] })
            {
                // A new claim: its view's span is the one it was opened on, so the answer needs no read; the next command on
                // it finds its opening kept.
                facts.Keep(new LoadedClaim(claimId, r.ArticleId, [opened]) { OpenedWith = Deduplicated(result) });
                response.Selector = Mapping.ToProto(opened.Start, opened.End, opened.Exact, opened.Prefix, opened.Suffix);
                return response;
            }
            if (revision == 1 && facts.KeptClaim(claimId) is { OpenedWith: { } opening, Opening: [ClaimOpened first] })
            {
                // An existing claim on a text never revised (the writer checked the revision with the decision): its span is
                // the one it was opened on (only a revision moves a span, and only a moved or orphaned span is reattached), and
                // its opening's result is kept, so the answer needs no read.
                if (outcome is { Events.Count: 0 }) response.Result = opening.Clone();
                response.Selector = Mapping.ToProto(first.Start, first.End, first.Exact, first.Prefix, first.Suffix);
                return response;
            }
            var doc = await views.ClaimDocumentAsync(claimId, ct);
            // An existing claim: answered with the event that opened it, receipt included.
            if (outcome is { Events.Count: 0 }) response.Result = await commands.ResultAtAsync(doc.OpenedPosition, ct);
            var view = doc.View;
            response.Selector = Mapping.ToProto(view.Start, view.End, view.Exact, view.Prefix, view.Suffix);
            return response;
        }
    }
}
