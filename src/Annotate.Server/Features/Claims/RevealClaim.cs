using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;

namespace Annotate.Server.Features.Claims;

/// <summary>Reveals a blind claim to everyone, for good (adjudicator).</summary>
public static class RevealClaim
{
    public sealed record Command(RevealClaimRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Facts facts, IQuerySession session) : IRequestHandler<Command, CommandResult>
    {
        public async Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            Commands.RequireRequestId(r.RequestId);
            var claim = await facts.ClaimAsync(r.ClaimId, ct);
            var byArticle = (await session.LoadAsync<BlindClaimDocument>(r.ClaimId, ct))?.BlindByArticle ?? false;
            return await commands.RunAsync(r.RequestId, Streams.Claim(r.ClaimId), claim.ArticleId, BlindnessState.Initial, Blindness.Evolve,
                state => Blindness.Decide(state, new Domain.Claims.RevealClaim(r.ClaimId, byArticle), commands.Context()), ct);
        }
    }
}
