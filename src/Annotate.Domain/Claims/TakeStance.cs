using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Claims;

/// <summary>Evidence as sent: a selector into an article (any article), resolved against that article's text.</summary>
public sealed record EvidenceInput(string ArticleId, TextDocument Document, Selector Selector);

/// <summary>Take (or replace) the actor's stance on a claim. Rationale may be empty; rationale and evidence are bounded.</summary>
public sealed record TakeStance(string ClaimId, Stance Stance, string? Rationale, IReadOnlyList<EvidenceInput> Evidence);

public static partial class Claim
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(ClaimState state, TakeStance command, CommandContext context)
    {
        if (context.Require(Role.Analyst, "Taking a stance") is { } denied)
        {
            return denied;
        }

        if ((MustExist(state, command.ClaimId) ?? MustBeOpen(state, "taking a stance")) is { } refused)
        {
            return refused;
        }

        if (!Enum.IsDefined(command.Stance))
        {
            return DomainError.Invalid("Unknown stance; use SUPPORTS, REFUTES, NEEDS_CONTEXT or UNVERIFIABLE.");
        }

        var rationale = command.Rationale?.Trim() ?? string.Empty;
        if (Limits.TooLong("rationale", rationale, Limits.MaxRationale) is { } tooLong)
        {
            return DomainError.Invalid(tooLong);
        }

        if (command.Evidence.Count > Limits.MaxEvidence)
        {
            return DomainError.Invalid(
                $"A stance cites {command.Evidence.Count} pieces of evidence; the limit is {Limits.MaxEvidence}. Keep the strongest.");
        }

        var evidence = new List<EvidenceSpan>(command.Evidence.Count);
        for (var i = 0; i < command.Evidence.Count; i++)
        {
            var input = command.Evidence[i];
            var resolved = Anchor.Resolve(input.Document, input.Selector);
            if (!resolved.IsOk)
            {
                return resolved.Error with { Message = $"Evidence {i + 1} (article {input.ArticleId}): {resolved.Error.Message}" };
            }

            if (Limits.SpanTooLong($"evidence {i + 1}", resolved.Value.Length) is { } tooWide)
            {
                return DomainError.Invalid(tooWide);
            }

            var span = new EvidenceSpan(input.ArticleId, resolved.Value.Start, resolved.Value.End, resolved.Value.Exact);
            if (!evidence.Contains(span))
            {
                evidence.Add(span);
            }
        }

        var taken = new StanceTaken(state.ClaimId!, context.Actor, command.Stance, rationale, evidence.ToValueList());
        return state.Stances.TryGetValue(context.Actor, out var current) && current == taken
            ? Decision.None
            : Decision.Events(taken);
    }
}
