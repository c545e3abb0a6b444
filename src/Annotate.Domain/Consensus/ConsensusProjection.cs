using Annotate.Domain.Anchoring;
using Annotate.Domain.Claims;
using Annotate.Domain.Events;
using Annotate.Domain.Tags;

namespace Annotate.Domain.Consensus;

/// <summary>
/// Folds a claim's events into its <see cref="ClaimConsensus"/> view. Pure and deterministic: the same events in the
/// same order with the same policy give an equal view. Non-claim events, claim events before ClaimOpened, events of
/// other claims and a repeated opening are ignored (Evolve returns its input).
/// <see cref="ClaimConsensus.Version"/> matches <see cref="ClaimState.Version"/>.
/// </summary>
public static class ConsensusProjection
{
    public static ClaimConsensus? Evolve(ClaimConsensus? view, PositionedEvent positioned, ConsensusPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(positioned);
        var e = positioned.Event;
        if (view is not null && SpanAnchor.TargetOf(e, AnchorKind.Claim) == view.ClaimId)
        {
            return Reanchored(view, positioned);
        }

        if (view is not null && SpanAnchor.EvidenceClaimOf(e) == view.ClaimId)
        {
            return EvidencePlaced(view, positioned);
        }

        if (!ClaimState.IsClaimEvent(e) || (view is not null && (ClaimState.ClaimIdOf(e) != view.ClaimId || e is ClaimOpened)))
        {
            return view; // other claims' events, and a repeated opening, leave the view as it is
        }

        if (view is null)
        {
            return e is ClaimOpened o ? Derive(Opened(o, positioned), policy, ValueList<TagSupport>.Empty) : null;
        }

        var next = e switch
        {
            StanceTaken s => view with
            {
                Stances = Upsert(view.Stances, new CurrentStance(s.Analyst, s.Stance, s.Rationale, positioned.RecordedAt)),
                Evidence = ReplaceEvidence(view.Evidence, s, positioned.Position),
            },
            StanceWithdrawn w => view with
            {
                Stances = view.Stances.Where(c => c.Analyst != w.Analyst).ToValueList(),
                Evidence = view.Evidence.Where(x => x.Analyst != w.Analyst).ToValueList(),
            },
            ClaimAdjudicated a => view with
            {
                Verdict = a.Verdict,
                Adjudicator = a.Adjudicator,
                AdjudicationRationale = a.Rationale,
                AdjudicatedAt = positioned.RecordedAt,
            },
            ClaimReopened => view with { Verdict = null, Adjudicator = null, AdjudicationRationale = null, AdjudicatedAt = null },
            _ => view,
        };
        // The view's tags are always its tag set's supports (Derive), so only a tag event needs the set rebuilt from them;
        // likewise the contributors are distinct and in order, so a known actor leaves them as they are.
        var tags = e is TagApplied or TagRemoved ? Tagging.Evolve(TagSetOf(view), e).Supports() : view.Tags;
        var actor = Actor(e);
        next = next with
        {
            Version = view.Version + 1,
            LastPosition = positioned.Position,
            LastRecordedAt = positioned.RecordedAt,
            Contributors = view.Contributors.Contains(actor)
                ? view.Contributors
                : view.Contributors.Append(actor).Order(StringComparer.Ordinal).ToValueList(),
        };
        return Derive(next, policy, tags);
    }

    /// <summary>Folds events into a view; with <paramref name="claimId"/>, only that claim's events count (for folding
    /// from a stream that holds several claims). Null when the claim was not opened in these events.</summary>
    public static ClaimConsensus? Fold(IEnumerable<PositionedEvent> events, ConsensusPolicy policy, string? claimId = null) =>
        events.Where(p => claimId is null || (ClaimState.ClaimIdOf(p.Event) ?? SpanAnchor.TargetOf(p.Event, AnchorKind.Claim)
            ?? SpanAnchor.EvidenceClaimOf(p.Event)) == claimId)
            .Aggregate((ClaimConsensus?)null, (view, e) => Evolve(view, e, policy));

    /// <summary>A revision moved or orphaned the claim's span: the span (or only its anchor state) changes, nothing else.</summary>
    private static ClaimConsensus Reanchored(ClaimConsensus view, PositionedEvent positioned)
    {
        var anchor = view.Anchor ?? SpanAnchor.AsCreated;
        var next = positioned.Event switch
        {
            SpanReanchored r => view with
            {
                Start = r.Start,
                End = r.End,
                Exact = r.Exact,
                Prefix = r.Prefix,
                Suffix = r.Suffix,
                Anchor = anchor.Moved(r),
            },
            SpanOrphaned o => view with { Anchor = anchor.Lost(o) },
            SpanReattached a => view with
            {
                Start = a.Start,
                End = a.End,
                Exact = a.Exact,
                Prefix = a.Prefix,
                Suffix = a.Suffix,
                Anchor = SpanAnchor.Reattached(a),
            },
            _ => view,
        };
        return next with { LastPosition = positioned.Position, LastRecordedAt = positioned.RecordedAt };
    }

    /// <summary>A revision of a cited article moved or orphaned one evidence span (the analyst's, at its old place on that
    /// article, not already orphaned); nothing else changes.</summary>
    private static ClaimConsensus EvidencePlaced(ClaimConsensus view, PositionedEvent positioned)
    {
        var (article, analyst, oldStart, oldEnd) = positioned.Event switch
        {
            EvidenceReanchored r => (r.ArticleId, r.Analyst, r.OldStart, r.OldEnd),
            EvidenceOrphaned o => (o.ArticleId, o.Analyst, o.OldStart, o.OldEnd),
            _ => throw new ArgumentException("not an evidence event", nameof(positioned)),
        };
        var evidence = view.Evidence.Select(x =>
        {
            if (x.Analyst != analyst || x.ArticleId != article || x.Start != oldStart || x.End != oldEnd || x.Anchor is { Orphaned: true })
            {
                return x;
            }

            var anchor = x.Anchor ?? SpanAnchor.AsCreated;
            return positioned.Event switch
            {
                EvidenceReanchored r => x with { Start = r.Start, End = r.End, Exact = r.Exact, Anchor = SpanAnchor.Moved(r) },
                EvidenceOrphaned o => x with { Anchor = anchor.Lost(o) },
                _ => x,
            };
        }).ToValueList();
        return view with { Evidence = evidence, LastPosition = positioned.Position, LastRecordedAt = positioned.RecordedAt };
    }

    private static ClaimConsensus Opened(ClaimOpened o, PositionedEvent p) => new(
        o.ClaimId, o.ArticleId, o.Start, o.End, o.Exact, o.Prefix, o.Suffix, o.Statement, o.Analyst,
        ConsensusStatus.Pending, null, null, null, ValueList<StanceTally>.Empty, 0,
        ValueList<CurrentStance>.Empty, ValueList<TagSupport>.Empty, ValueList<EvidenceEntry>.Empty, ValueList.Of(o.Analyst),
        1, p.Position, p.RecordedAt);

    private static ClaimConsensus Derive(ClaimConsensus view, ConsensusPolicy policy, ValueList<TagSupport> tags)
    {
        var counts = Enum.GetValues<Stance>().Select(s => new StanceTally(s, view.Stances.Count(c => c.Stance == s))).ToValueList();
        var total = view.Stances.Count;
        var leading = counts.Max(t => t.Count);
        var agreement = total == 0 ? 0 : (double)leading / total;
        ConsensusStatus status;
        if (view.Verdict is not null)
        {
            status = ConsensusStatus.Adjudicated;
        }
        else if (total < policy.Quorum)
        {
            status = ConsensusStatus.Pending;
        }
        else
        {
            // With a threshold of at most half, two stances could both reach it; then no single stance wins.
            var winners = counts.Where(t => policy.Reaches(t.Count, total)).ToList();
            status = winners.Count == 1 ? StatusOf(winners[0].Stance) : ConsensusStatus.Contested;
        }

        return view with { Tallies = counts, Agreement = agreement, Status = status, Tags = tags };
    }

    private static ConsensusStatus StatusOf(Stance stance) => stance switch
    {
        Stance.Supports => ConsensusStatus.Supported,
        Stance.Refutes => ConsensusStatus.Refuted,
        Stance.NeedsContext => ConsensusStatus.NeedsContext,
        Stance.Unverifiable => ConsensusStatus.Unverifiable,
        _ => throw new ArgumentOutOfRangeException(nameof(stance), stance, null),
    };

    private static ValueList<CurrentStance> Upsert(ValueList<CurrentStance> stances, CurrentStance stance) =>
        stances.Where(c => c.Analyst != stance.Analyst).Append(stance).OrderBy(c => c.Analyst, StringComparer.Ordinal).ToValueList();

    private static ValueList<EvidenceEntry> ReplaceEvidence(ValueList<EvidenceEntry> evidence, StanceTaken s, long position) =>
        evidence.Where(x => x.Analyst != s.Analyst)
            .Concat(s.Evidence.Select(x => new EvidenceEntry(s.Analyst, s.Stance, x.ArticleId, x.Start, x.End, x.Exact, position)))
            .Select((x, i) => (x, i))
            .OrderBy(p => p.x.Analyst, StringComparer.Ordinal).ThenBy(p => p.i)
            .Select(p => p.x).ToValueList();

    private static string Actor(IDomainEvent e) => e switch
    {
        ClaimOpened o => o.Analyst,
        StanceTaken s => s.Analyst,
        StanceWithdrawn w => w.Analyst,
        ClaimAdjudicated a => a.Adjudicator,
        ClaimReopened r => r.Adjudicator,
        TagApplied t => t.Analyst,
        TagRemoved t => t.Analyst,
        _ => throw new ArgumentException("not a claim event", nameof(e)),
    };

    // Tag support is rebuilt from the view's own TagSupport list (which names the analysts), so the view alone is
    // enough to continue the fold: no hidden state outside the record.
    private static TagSet TagSetOf(ClaimConsensus view) =>
        view
            .Tags.SelectMany(t => t.Analysts.Select(a => (t.Tag, Analyst: a)))
            .Aggregate(TagSet.Empty, (set, p) => set.Apply(p.Tag, p.Analyst));
}
