using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Claims;

/// <summary>Record a verdict on a claim, naming the claim version the adjudicator saw. A verdict given on an outdated
/// view is refused as a conflict naming the newer events, so nobody overrides stances they have not read.</summary>
public sealed record AdjudicateClaim(string ClaimId, Stance Verdict, string Rationale, long ClaimVersionSeen);

public static partial class Claim
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(ClaimState state, AdjudicateClaim command, CommandContext context)
    {
        if (context.Require(Role.Adjudicator, "Adjudicating a claim") is { } denied)
        {
            return denied;
        }

        if (MustExist(state, command.ClaimId) is { } missing)
        {
            return missing;
        }

        if (state.Status == ClaimStatus.Adjudicated)
        {
            return DomainError.FailedPrecondition(
                $"Claim {command.ClaimId} is already adjudicated ({StanceNames.Of(state.Verdict!.Value)}); reopen it first to record " +
                    $"another verdict.");
        }

        if (!Enum.IsDefined(command.Verdict))
        {
            return DomainError.Invalid("Unknown verdict; use SUPPORTS, REFUTES, NEEDS_CONTEXT or UNVERIFIABLE.");
        }

        var rationale = command.Rationale?.Trim() ?? string.Empty;
        if (rationale.Length == 0)
        {
            return DomainError.Invalid("An adjudication needs a rationale; say why the verdict holds.");
        }

        if (Limits.TooLong("rationale", rationale, Limits.MaxRationale) is { } tooLong)
        {
            return DomainError.Invalid(tooLong);
        }

        if (command.ClaimVersionSeen > state.Version || command.ClaimVersionSeen < 1)
        {
            return DomainError.Invalid(
                $"Claim {command.ClaimId} is at version {state.Version}; version {command.ClaimVersionSeen} does not exist. Send the " +
                    $"version shown in the claim's view.");
        }

        if (command.ClaimVersionSeen < state.Version)
        {
            var newer = state.History.Skip((int)command.ClaimVersionSeen);
            return DomainError.Conflict(
                $"Claim {command.ClaimId} changed since version {command.ClaimVersionSeen} you saw: {string.Join("; ", newer)}. " +
                $"Review the claim at version {state.Version} and adjudicate again.");
        }

        return Decision.Events(new ClaimAdjudicated(state.ClaimId!, context.Actor, command.Verdict, rationale, command.ClaimVersionSeen));
    }
}
