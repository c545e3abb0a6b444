using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Claims;

/// <summary>
/// Whether a claim is blind and whether it was revealed. Invariant: revealed is final (what everyone has seen cannot be
/// hidden again), so a revealed claim is never made blind again. A claim opened on a blind article starts blind
/// (<see cref="BlindByArticle"/>, known to the caller from the article).
/// </summary>
public sealed record BlindnessState(bool Blind, bool Revealed)
{
    public static BlindnessState Initial { get; } = new(false, false);
}

public sealed record MakeClaimBlind(string ClaimId);

/// <summary>Reveal a blind claim to all; <see cref="BlindByArticle"/> says whether it is blind through its article's default.</summary>
public sealed record RevealClaim(string ClaimId, bool BlindByArticle);

public sealed record MakeArticleBlind(string ArticleId);

public static class Blindness
{
    public static Result<IReadOnlyList<IDomainEvent>> Decide(BlindnessState state, MakeClaimBlind command, CommandContext context)
    {
        if (context.Require(Role.Adjudicator, "Making a claim blind") is { } denied) return denied;
        if (state.Revealed)
            return DomainError.FailedPrecondition($"Claim {command.ClaimId} was revealed; what everyone has seen cannot be hidden again.");
        return state.Blind ? Decision.None : Decision.Events(new ClaimMadeBlind(command.ClaimId, context.Actor));
    }

    public static Result<IReadOnlyList<IDomainEvent>> Decide(BlindnessState state, RevealClaim command, CommandContext context)
    {
        if (context.Require(Role.Adjudicator, "Revealing a claim") is { } denied) return denied;
        if (state.Revealed) return Decision.None;
        if (!state.Blind && !command.BlindByArticle)
            return DomainError.FailedPrecondition($"Claim {command.ClaimId} is not blind; there is nothing to reveal.");
        return Decision.Events(new ClaimRevealed(command.ClaimId, context.Actor));
    }

    /// <summary>Makes an article blind for its new claims; <paramref name="alreadyBlind"/> from the article's stream.</summary>
    public static Result<IReadOnlyList<IDomainEvent>> Decide(bool alreadyBlind, MakeArticleBlind command, CommandContext context)
    {
        if (context.Require(Role.Adjudicator, "Making an article blind") is { } denied) return denied;
        return alreadyBlind ? Decision.None : Decision.Events(new ArticleMadeBlind(command.ArticleId, context.Actor));
    }

    public static BlindnessState Evolve(BlindnessState state, IDomainEvent e) => e switch
    {
        ClaimMadeBlind => state with { Blind = true },
        ClaimRevealed => state with { Revealed = true },
        _ => state,
    };

    /// <summary>
    /// Whether <paramref name="analyst"/> may not see the others' stances on a claim yet: it is blind and not revealed, they
    /// have recorded no stance of their own on it, and they are no adjudicator, auditor or admin (who see everything).
    /// </summary>
    public static bool HiddenFrom(bool blind, bool revealed, IReadOnlyCollection<string> analystsWithStance, string analyst,
        IEnumerable<Role> roles) =>
        blind && !revealed && !analystsWithStance.Contains(analyst) && !roles.Any(r => r is Role.Adjudicator or Role.Auditor or Role.Admin);
}
