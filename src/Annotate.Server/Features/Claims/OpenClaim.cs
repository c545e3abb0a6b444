using System.Text.Json.Nodes;
using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Consensus;
using Annotate.Server.Infrastructure;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Claims;

/// <summary>
/// Opens a claim on a span (analyst), or answers the existing claim covering the same text. The decision is
/// taken against the article's claim stream and appended at the version it read, so two analysts racing for
/// the same span (on any replicas) serialize: the second decides again and finds the first's claim.
/// </summary>
public static class OpenClaim
{
    public sealed record Command(OpenClaimRequest Request) : IRequest<OpenClaimResponse>;

    public sealed class Handler(Commands commands, Views views) : IRequestHandler<Command, OpenClaimResponse>
    {
        public async Task<OpenClaimResponse> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var id = commands.NewId("c", r.RequestId);
            var document = await views.DocumentAsync(r.ArticleId, ct);
            var selector = Mapping.ToDomain(r.Selector);
            var stream = Streams.ArticleClaims(r.ArticleId);
            for (var attempt = 1; ; attempt++)
            {
                var loaded = await commands.LoadAsync(stream, ClaimIndex.Empty(r.ArticleId), ClaimIndex.Evolve, ct);
                var index = await Articles.RevisedClaims.OnCurrentTextAsync(views, loaded.State, ct);
                var outcome = Claim
                    .Decide(index, new Domain.Claims.OpenClaim(r.ArticleId, document, selector, r.Statement), commands.Context(id))
                    .OrThrow();
                CommandResult result;
                ClaimDocument? doc = null;
                if (outcome.Events.Count == 0)
                {
                    // Existing claim (or this request's own, on a retry): answer with the event that opened it,
                    // receipt included.
                    doc = await views.ClaimDocumentAsync(outcome.ClaimId, ct);
                    result = await commands.PriorResultAsync(r.RequestId, ct) ?? await commands.ResultAtAsync(doc.OpenedPosition, ct);
                }
                else
                {
                    try
                    {
                        result = await commands.AppendAsync(
                            r.RequestId,
                            stream,
                            ExpectedVersion.Exact(loaded.Version),
                            outcome.Events,
                            r.ArticleId,
                            ct);
                    }
                    catch (WrongExpectedVersionException) when (attempt < Commands.MaxAttempts)
                    {
                        // Another claim of this article was opened meanwhile: decide again (it may be this span's).
                        await Commands.BackOffAsync(attempt, ct);
                        continue;
                    }
                }
                var view = (doc ?? await views.ClaimDocumentAsync(outcome.ClaimId, ct)).View;
                return new OpenClaimResponse
                {
                    Result = result,
                    ClaimId = outcome.ClaimId,
                    Existing = outcome.Existing && !(result.Deduplicated && outcome.ClaimId == id),
                    Selector = Mapping.ToProto(view.Start, view.End, view.Exact, view.Prefix, view.Suffix),
                };
            }
        }
    }
}
