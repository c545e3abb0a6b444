using Annotate.Contracts.V1;
using Annotate.Domain.Claims;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Server.Infrastructure;

namespace Annotate.Server.Features.Claims;

public static class ClaimLoading
{
    /// <summary>
    /// A command on an existing claim: the writer folds the claim's opening (kept in-process, <see cref="Facts"/>) and its
    /// stream, <paramref name="decide"/> runs there, and the events go to the claim's stream under the article's tag.
    /// </summary>
    public static async Task<CommandResult> RunAsync(Facts facts, Commands commands, string requestId, string claimId,
        Func<ClaimState, Result<IReadOnlyList<IDomainEvent>>> decide, CancellationToken ct, IReadOnlyList<ResolvedText>? resolvedOn = null)
    {
        Commands.RequireRequestId(requestId);
        var claim = await facts.ClaimAsync(claimId, ct);
        return await commands.RunAsync(
            requestId,
            Streams.Claim(claimId),
            claim.ArticleId,
            claim.Opening.Aggregate(ClaimState.Initial, Claim.Evolve),
            Claim.Evolve,
            decide,
            ct,
            resolvedOn);
    }
}
