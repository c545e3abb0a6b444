using System.Collections.Immutable;
using Annotate.Domain.Anchoring;
using Annotate.Domain.Events;
using Annotate.Domain.Tags;

namespace Annotate.Domain.Claims;

/// <summary>
/// State of one claim, folded from its events. <see cref="Version"/> is the number of claim events folded so far
/// (ClaimOpened is version 1; stances, withdrawals, adjudications, reopenings and claim tags each add one): it is
/// the version an adjudicator names as "seen". Invariants: at most one current stance per analyst; a verdict is set
/// exactly while <see cref="Status"/> is Adjudicated; <see cref="History"/> has one line per version.
/// </summary>
public sealed record ClaimState(
    string? ClaimId,
    string? ArticleId,
    string? OpenedBy,
    ResolvedAnchor? Anchor,
    string? Statement,
    ClaimStatus Status,
    Stance? Verdict,
    ImmutableSortedDictionary<string, StanceTaken> Stances,
    TagSet Tags,
    long Version,
    ImmutableList<string> History,
    int ReattachedOn = 0)
{
    public static ClaimState Initial { get; } = new(
        null, null, null, null, null, ClaimStatus.Open, null,
        ImmutableSortedDictionary.Create<string, StanceTaken>(StringComparer.Ordinal), TagSet.Empty, 0, []);

    public bool Exists => ClaimId is not null;

    /// <summary>True for the events that belong to some claim's history (and so advance that claim's version).</summary>
    public static bool IsClaimEvent(IDomainEvent e) =>
        e
            is ClaimOpened
                or StanceTaken
                or StanceWithdrawn
                or ClaimAdjudicated
                or ClaimReopened
                or TagApplied { TargetKind: TagTargetKind.Claim }
                or TagRemoved { TargetKind: TagTargetKind.Claim };

    /// <summary>The claim a claim event is about (null for other events).</summary>
    public static string? ClaimIdOf(IDomainEvent e) => e switch
    {
        ClaimOpened o => o.ClaimId,
        StanceTaken s => s.ClaimId,
        StanceWithdrawn w => w.ClaimId,
        ClaimAdjudicated a => a.ClaimId,
        ClaimReopened r => r.ClaimId,
        TagApplied { TargetKind: TagTargetKind.Claim } t => t.TargetId,
        TagRemoved { TargetKind: TagTargetKind.Claim } t => t.TargetId,
        _ => null,
    };

    /// <summary>One line describing a claim event, used to name newer events in conflict messages.</summary>
    public static string Describe(IDomainEvent e) => e switch
    {
        ClaimOpened o => $"opened by {o.Analyst}",
        StanceTaken s => $"{s.Analyst} took stance {StanceNames.Of(s.Stance)}",
        StanceWithdrawn w => $"{w.Analyst} withdrew their stance",
        ClaimAdjudicated a => $"{a.Adjudicator} adjudicated {StanceNames.Of(a.Verdict)}",
        ClaimReopened r => $"{r.Adjudicator} reopened it",
        TagApplied t => $"{t.Analyst} tagged it {t.Tag}",
        TagRemoved t => $"{t.Analyst} removed tag {t.Tag}",
        _ => EventTypes.NameOf(e),
    };
}
