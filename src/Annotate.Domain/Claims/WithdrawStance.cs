using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Claims;

/// <summary>Withdraw the actor's current stance on a claim (history keeps it).</summary>
public sealed record WithdrawStance(string ClaimId);

public static partial class Claim
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(ClaimState state, WithdrawStance command, CommandContext context)
    {
        if ((MustExist(state, command.ClaimId) ?? MustBeOpen(state, "withdrawing a stance")) is { } refused)
        {
            return refused;
        }

        return state.Stances.ContainsKey(context.Actor)
            ? Decision.Events(new StanceWithdrawn(state.ClaimId!, context.Actor))
            : DomainError.FailedPrecondition($"{context.Actor} holds no stance on claim {command.ClaimId}; there is nothing to withdraw.");
    }
}
