using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Domain.Tags;

namespace Annotate.Domain.Claims;

/// <summary>Claim decisions (one command per file, this class is partial) and the claim fold.</summary>
public static partial class Claim
{
    public static ClaimState Evolve(ClaimState state, IDomainEvent e)
    {
        // A reattachment of the claim's span is kept (it is no claim event: the claim's version does not count it).
        if (e is SpanReattached { Kind: AnchorKind.Claim } reattached && state.Exists && reattached.TargetId == state.ClaimId)
        {
            return state with { ReattachedOn = reattached.Revision };
        }

        // Events of other claims are ignored, so a claim can be folded from a mixed (e.g. per-article) stream.
        // A repeated opening is ignored too: a claim is opened once.
        if (
            !ClaimState.IsClaimEvent(e)
            || (state.Exists ? ClaimState.ClaimIdOf(e) != state.ClaimId || e is ClaimOpened : e is not ClaimOpened))
        {
            return state;
        }

        var next = e switch
        {
            ClaimOpened o => state with
            {
                ClaimId = o.ClaimId,
                ArticleId = o.ArticleId,
                OpenedBy = o.Analyst,
                Anchor = new ResolvedAnchor(o.Start, o.End, o.Exact, o.Prefix, o.Suffix),
                Statement = o.Statement,
                Status = ClaimStatus.Open,
            },
            StanceTaken s => state with { Stances = state.Stances.SetItem(s.Analyst, s) },
            StanceWithdrawn w => state with { Stances = state.Stances.Remove(w.Analyst) },
            ClaimAdjudicated a => state with { Status = ClaimStatus.Adjudicated, Verdict = a.Verdict },
            ClaimReopened => state with { Status = ClaimStatus.Open, Verdict = null },
            _ => state with { Tags = Tagging.Evolve(state.Tags, e) },
        };
        var version = state.Version + 1;
        return next with { Version = version, History = state.History.Add($"v{version} {ClaimState.Describe(e)}") };
    }

    /// <summary>Folds events into a claim's state; with <paramref name="claimId"/>, only that claim's events count
    /// (for folding from a stream that holds several claims).</summary>
    public static ClaimState Fold(IEnumerable<IDomainEvent> events, string? claimId = null) =>
        events.Where(e => claimId is null || ClaimState.ClaimIdOf(e) == claimId).Aggregate(ClaimState.Initial, Evolve);

    public static Result<IReadOnlyList<IDomainEvent>> Decide(ClaimState state, ApplyTag command, CommandContext context) =>
        MustExist(state, command.TargetId) is { } missing ? missing : Tagging.Decide(state.Tags, command, context);

    public static Result<IReadOnlyList<IDomainEvent>> Decide(ClaimState state, RemoveTag command, CommandContext context) =>
        MustExist(state, command.TargetId) is { } missing ? missing : Tagging.Decide(state.Tags, command, context);

    private static DomainError? MustExist(ClaimState state, string claimId) =>
        state.Exists ? null : DomainError.NotFound($"Claim {claimId} does not exist; list the article's claims to find its id.");

    private static DomainError? MustBeOpen(ClaimState state, string doing) =>
        state.Status == ClaimStatus.Open
            ? null
            : DomainError.FailedPrecondition(
                $"Claim {state.ClaimId} is adjudicated ({StanceNames.Of(state.Verdict!.Value)}) and closed; {doing} is refused until an " +
                    $"adjudicator reopens it.");
}
