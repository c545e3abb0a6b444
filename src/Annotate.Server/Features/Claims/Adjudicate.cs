using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;

using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Claims;

/// <summary>
/// Records an adjudicator's verdict, which overrides the vote until reopened. The adjudicator names the claim
/// version they reviewed; a claim that changed since is refused (ABORTED) with the newer events named.
/// </summary>
public static class Adjudicate
{
    public sealed record Command(AdjudicateRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Facts facts) : IRequestHandler<Command, CommandResult>
    {
        public async Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            var verdict = Mapping.ToDomain(r.Verdict, "verdict");
            return await ClaimLoading.RunAsync(
                facts,
                commands,
                r.RequestId,
                r.ClaimId,
                state => Claim.Decide(state, new AdjudicateClaim(r.ClaimId, verdict, r.Rationale, r.ExpectedVersion), commands.Context()),
                ct);
        }
    }
}
