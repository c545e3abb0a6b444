using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;
using MediatR;

using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.Claims;

/// <summary>Reopens an adjudicated claim (adjudicator): stances count again.</summary>
public static class ReopenClaim
{
    public sealed record Command(ReopenClaimRequest Request) : IRequest<CommandResult>;

    public sealed class Handler(Commands commands, Facts facts) : IRequestHandler<Command, CommandResult>
    {
        public async Task<CommandResult> Handle(Command command, CancellationToken ct)
        {
            var r = command.Request;
            return await ClaimLoading.RunAsync(facts, commands, r.RequestId, r.ClaimId,
                state => Claim.Decide(state, new Domain.Claims.ReopenClaim(r.ClaimId, r.Reason), commands.Context()), ct);
        }
    }
}
