using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Claims;

/// <summary>Reopen an adjudicated claim so that stances count again.</summary>
public sealed record ReopenClaim(string ClaimId, string? Reason);

public static partial class Claim
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(ClaimState state, ReopenClaim command, CommandContext context)
    {
        if (context.Require(Role.Adjudicator, "Reopening a claim") is { } denied)
        {
            return denied;
        }

        if (MustExist(state, command.ClaimId) is { } missing)
        {
            return missing;
        }

        if (state.Status != ClaimStatus.Adjudicated)
        {
            return DomainError.FailedPrecondition($"Claim {command.ClaimId} is open; only an adjudicated claim can be reopened.");
        }

        var reason = command.Reason?.Trim() ?? string.Empty;
        if (Limits.TooLong("reason", reason, Limits.MaxReason) is { } tooLong)
        {
            return DomainError.Invalid(tooLong);
        }

        return Decision.Events(new ClaimReopened(state.ClaimId!, context.Actor, reason));
    }
}
