using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;

namespace Annotate.Server.Features.Claims;

/// <summary>Makes a claim blind, or an article blind for the claims opened on it from then on (adjudicator).</summary>
public static class MakeBlind
{
    public sealed record Command(MakeBlindRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Views views, Facts facts) : IRequestHandler<Command, CommandResult>
    {
        public async Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            Commands.RequireRequestId(r.RequestId);
            switch (r.TargetCase)
            {
                case MakeBlindRequest.TargetOneofCase.ClaimId when r.ClaimId.Length > 0:
                    var claim = await facts.ClaimAsync(r.ClaimId, ct);
                    return await commands.RunAsync(r.RequestId, Streams.Claim(r.ClaimId), claim.ArticleId, BlindnessState.Initial,
                        Blindness.Evolve, state => Blindness.Decide(state, new MakeClaimBlind(r.ClaimId), commands.Context()), ct);
                case MakeBlindRequest.TargetOneofCase.ArticleId when r.ArticleId.Length > 0:
                    await views.ArticleAsync(r.ArticleId, ct);
                    return await commands.RunAsync(r.RequestId, Streams.Article(r.ArticleId), r.ArticleId, false,
                        (blind, e) => blind || e is ArticleMadeBlind,
                        blind => Blindness.Decide(blind, new MakeArticleBlind(r.ArticleId), commands.Context()), ct);
                default:
                    throw ErrorMapping.Invalid("target needs a claim_id or an article_id.");
            }
        }
    }
}
