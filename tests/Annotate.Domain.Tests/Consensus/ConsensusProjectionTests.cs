using Annotate.Domain.Consensus;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Consensus;

public sealed class ConsensusProjectionTests
{
    private static readonly DateTimeOffset T0 = Given.Now;

    private static readonly ClaimOpened Opened = new("c1", "a1", "alice", 10, 20, "exact text", "pre", "suf", "statement");

    private static StanceTaken Take(string analyst, Stance stance, params EvidenceSpan[] evidence) =>
        new("c1", analyst, stance, analyst + " says so", evidence.ToValueList());

    /// <summary>Folds events at positions 100, 101, ... one second apart.</summary>
    private static ClaimConsensus Fold(ConsensusPolicy policy, params IDomainEvent[] events) =>
        ConsensusProjection.Fold(events.Select((e, i) => new PositionedEvent(100 + i, T0.AddSeconds(i), e)), policy)!;

    private static ClaimConsensus Fold(params IDomainEvent[] events) => Fold(ConsensusPolicy.Default, events);

    [Fact]
    public void Opened_claim_is_pending_with_zero_tallies_and_agreement()
    {
        var v = Fold(Opened);
        Assert.Equal(ConsensusStatus.Pending, v.Status);
        Assert.Equal(0, v.Agreement);
        Assert.Equal([Stance.Supports, Stance.Refutes, Stance.NeedsContext, Stance.Unverifiable], v.Tallies.Select(t => t.Stance));
        Assert.All(v.Tallies, t => Assert.Equal(0, t.Count));
        Assert.Equal((1, 100L, T0), (v.Version, v.LastPosition, v.LastRecordedAt));
        Assert.Equal(["alice"], v.Contributors);
    }

    [Fact]
    public void Fewer_analysts_than_the_quorum_keep_the_claim_pending_even_when_unanimous()
    {
        var v = Fold(Opened, Take("bob", Stance.Refutes), Take("carol", Stance.Refutes));
        Assert.Equal(ConsensusStatus.Pending, v.Status);
        Assert.Equal(1.0, v.Agreement);
    }

    [Fact]
    public void Two_of_three_reaches_the_default_two_thirds_threshold()
    {
        var v = Fold(Opened, Take("bob", Stance.Refutes), Take("carol", Stance.Refutes), Take("dave", Stance.Supports));
        Assert.Equal(ConsensusStatus.Refuted, v.Status);
        Assert.Equal(2.0 / 3, v.Agreement, 12);
        Assert.Equal(2, v.Tallies.Single(t => t.Stance == Stance.Refutes).Count);
        Assert.Equal(1, v.Tallies.Single(t => t.Stance == Stance.Supports).Count);
    }

    [Fact]
    public void No_stance_at_the_threshold_share_is_contested()
    {
        var v = Fold(Opened, Take("bob", Stance.Refutes), Take("carol", Stance.NeedsContext), Take("dave", Stance.Supports));
        Assert.Equal(ConsensusStatus.Contested, v.Status);
        Assert.Equal(1.0 / 3, v.Agreement, 12);
        var five = Fold(
            Opened,
            Take("a", Stance.Refutes),
            Take("b", Stance.Refutes),
            Take("c", Stance.Refutes),
            Take("d", Stance.Supports),
            Take("e", Stance.Supports));
        Assert.Equal(ConsensusStatus.Contested, five.Status); // 3/5 < 2/3
    }

    [Theory]
    [InlineData(Stance.Supports, ConsensusStatus.Supported)]
    [InlineData(Stance.NeedsContext, ConsensusStatus.NeedsContext)]
    [InlineData(Stance.Unverifiable, ConsensusStatus.Unverifiable)]
    public void Each_stance_names_its_status_when_it_wins(Stance stance, ConsensusStatus status)
    {
        Assert.Equal(status, Fold(Opened, Take("a", stance), Take("b", stance), Take("c", stance)).Status);
    }

    [Fact]
    public void Quorum_and_threshold_come_from_the_policy()
    {
        var policy = new ConsensusPolicy(1, 1, 2);
        Assert.Equal(ConsensusStatus.Supported, Fold(policy, Opened, Take("a", Stance.Supports)).Status);
        // 1 of 2 each: both reach 1/2, so no single stance wins
        Assert.Equal(ConsensusStatus.Contested, Fold(policy, Opened, Take("a", Stance.Supports), Take("b", Stance.Refutes)).Status);
    }

    [Fact]
    public void Only_current_stances_count_after_replacement_and_withdrawal()
    {
        var v = Fold(Opened, Take("a", Stance.Supports), Take("b", Stance.Supports), Take("c", Stance.Supports),
            Take("a", Stance.Refutes), new StanceWithdrawn("c1", "b"));
        Assert.Equal(ConsensusStatus.Pending, v.Status);
        Assert.Equal([("a", Stance.Refutes), ("c", Stance.Supports)], v.Stances.Select(s => (s.Analyst, s.Stance)));
        Assert.Equal(0.5, v.Agreement);
        Assert.Equal(6, v.Version);
    }

    [Fact]
    public void Evidence_lists_current_citations_with_analyst_and_stance()
    {
        var e1 = new EvidenceSpan("a2", 1, 5, "abcd");
        var e2 = new EvidenceSpan("a3", 7, 9, "xy");
        var v = Fold(
            Opened,
            Take("carol", Stance.Refutes, e2),
            Take("bob", Stance.Refutes, e1, e2),
            Take("dave", Stance.Supports, e1),
            new StanceWithdrawn("c1", "dave"));
        Assert.Equal(
            [
                new EvidenceEntry("bob", Stance.Refutes, "a2", 1, 5, "abcd", 102),
                new EvidenceEntry("bob", Stance.Refutes, "a3", 7, 9, "xy", 102),
                new EvidenceEntry("carol", Stance.Refutes, "a3", 7, 9, "xy", 101),
            ],
            v.Evidence);
    }

    [Fact]
    public void A_revision_of_a_cited_article_moves_or_orphans_only_the_evidence_at_its_old_place()
    {
        var v = Fold(
            Opened,
            Take("bob", Stance.Refutes, new EvidenceSpan("a2", 1, 5, "abcd"), new EvidenceSpan("a3", 7, 9, "xy")),
            Take("carol", Stance.Refutes, new EvidenceSpan("a2", 1, 5, "abcd")),
            new EvidenceReanchored("a2", 2, "c1", "bob", 1, 5, 11, 15, "abcd", ReanchorMethod.Quote, 0.9),
            new EvidenceOrphaned("a2", 2, "c1", "carol", 1, 5, "abcd", "the quote no longer occurs"),
            new EvidenceReanchored("a2", 2, "other", "bob", 11, 15, 0, 4, "abcd", ReanchorMethod.Quote, 0.9));

        var byAnalyst = v.Evidence.Where(x => x.ArticleId == "a2").ToDictionary(x => x.Analyst);
        Assert.Equal((11, 15, 2, false), (byAnalyst["bob"].Start, byAnalyst["bob"].End, byAnalyst["bob"].Anchor!.Revision,
            byAnalyst["bob"].Anchor!.Orphaned));
        Assert.Equal((1, 5, "the quote no longer occurs"), (byAnalyst["carol"].Start, byAnalyst["carol"].End,
            byAnalyst["carol"].Anchor!.OrphanReason));
        Assert.Null(v.Evidence.Single(x => x.ArticleId == "a3").Anchor);
        Assert.Equal(3, v.Version);
    }

    [Fact]
    public void Tags_carry_how_many_analysts_apply_each()
    {
        var v = Fold(Opened,
            new TagApplied(TagTargetKind.Claim, "c1", "hot", "a"), new TagApplied(TagTargetKind.Claim, "c1", "hot", "b"),
            new TagApplied(TagTargetKind.Claim, "c1", "geo", "a"), new TagApplied(TagTargetKind.Claim, "c1", "old", "a"),
            new TagRemoved(TagTargetKind.Claim, "c1", "old", "a"));
        Assert.Equal([("hot", 2), ("geo", 1)], v.Tags.Select(t => (t.Tag, t.Support)));
        Assert.Equal(["a", "alice", "b"], v.Contributors);
    }

    [Fact]
    public void Adjudication_overrides_the_vote_until_reopened()
    {
        var voted = new IDomainEvent[] { Opened, Take("a", Stance.Refutes), Take("b", Stance.Refutes), Take("c", Stance.Supports) };
        var adjudicated = Fold([.. voted, new ClaimAdjudicated("c1", "judge", Stance.NeedsContext, "missing context", 4)]);
        Assert.Equal(
            (ConsensusStatus.Adjudicated, (Stance?)Stance.NeedsContext, "judge"),
            (adjudicated.Status, adjudicated.Verdict, adjudicated.Adjudicator));
        Assert.Equal(2.0 / 3, adjudicated.Agreement, 12);

        var reopened = Fold([
            .. voted,
            new ClaimAdjudicated("c1", "judge", Stance.NeedsContext, "r", 4),
            new ClaimReopened("c1", "judge", ""),
        ]);
        Assert.Equal((ConsensusStatus.Refuted, (Stance?)null), (reopened.Status, reopened.Verdict));
        Assert.Contains("judge", reopened.Contributors);
    }

    [Fact]
    public void Last_position_and_time_follow_the_latest_claim_event_and_other_events_are_ignored()
    {
        var v = ConsensusProjection.Fold(
            [
                new PositionedEvent(5, T0, Opened),
                new PositionedEvent(6, T0.AddMinutes(1), new HighlightRetracted("h", "a1", "x")),
                new PositionedEvent(9, T0.AddMinutes(2), Take("b", Stance.Supports)),
            ],
            ConsensusPolicy.Default
        )!;
        Assert.Equal((9L, T0.AddMinutes(2), 2L), (v.LastPosition, v.LastRecordedAt, v.Version));
    }

    [Fact]
    public void A_revision_moves_the_claim_span_or_orphans_it_without_counting_as_a_claim_version()
    {
        var events = new IDomainEvent[]
        {
            Opened,
            Take("b", Stance.Refutes),
            new SpanReanchored("a1", 2, AnchorKind.Claim, "c1", Opened.Start, Opened.End, Opened.Start + 7, Opened.End + 7, Opened.Exact,
                "New lead. ", "", ReanchorMethod.Quote, 0.8),
            new SpanReanchored("a1", 2, AnchorKind.Claim, "other", 0, 1, 5, 6, "x", "", "", ReanchorMethod.Position, 1),
        };
        var positioned = events.Select((e, i) => new PositionedEvent(i + 1, T0.AddSeconds(i), e)).ToList();
        var moved = ConsensusProjection.Fold(positioned, ConsensusPolicy.Default, "c1")!;
        Assert.Equal((Opened.Start + 7, Opened.End + 7, "New lead. "), (moved.Start, moved.End, moved.Prefix));
        Assert.Equal(new Annotate.Domain.Anchoring.SpanAnchor(2, ReanchorMethod.Quote, 0.8, 0, null), moved.Anchor);
        Assert.Equal((2L, 3L), (moved.Version, moved.LastPosition));
        Assert.Equal(moved, ConsensusProjection.Fold(positioned, ConsensusPolicy.Default));

        var orphaned = ConsensusProjection.Evolve(moved,
            new PositionedEvent(9, T0, new SpanOrphaned("a1", 3, AnchorKind.Claim, "c1", moved.Start, moved.End, moved.Exact, "gone")),
            ConsensusPolicy.Default)!;
        Assert.Equal((moved.Start, moved.Exact, 2, 3, "gone"),
            (orphaned.Start, orphaned.Exact, orphaned.Anchor!.Revision, orphaned.Anchor.OrphanedOnRevision, orphaned.Anchor.OrphanReason));
        Assert.Equal(moved.Tallies, orphaned.Tallies);
    }

    [Fact]
    public void Claim_events_before_the_opening_leave_no_view()
    {
        Assert.Null(ConsensusProjection.Evolve(null, new PositionedEvent(1, T0, Take("b", Stance.Supports)), ConsensusPolicy.Default));
    }

    [Fact]
    public void Folding_in_steps_equals_folding_at_once_and_views_compare_by_value()
    {
        var events = new IDomainEvent[]
        {
            Opened,
            Take("b", Stance.Refutes, new EvidenceSpan("a2", 1, 2, "x")),
            new TagApplied(TagTargetKind.Claim, "c1", "t", "b"),
            Take("c", Stance.Refutes),
        };
        var positioned = events.Select((e, i) => new PositionedEvent(i + 1, T0, e)).ToList();
        ClaimConsensus? stepwise = null;
        foreach (var p in positioned)
        {
            stepwise = ConsensusProjection.Evolve(stepwise, p, ConsensusPolicy.Default);
        }

        Assert.Equal(ConsensusProjection.Fold(positioned, ConsensusPolicy.Default), stepwise);
        Assert.NotEqual(ConsensusProjection.Fold(positioned.Take(3), ConsensusPolicy.Default), stepwise);
    }

    [Fact]
    public void View_round_trips_through_the_shared_json_options_so_it_can_be_stored()
    {
        var v = Fold(
            Opened,
            Take("b", Stance.NeedsContext, new EvidenceSpan("a2", 1, 2, "x")),
            new TagApplied(TagTargetKind.Claim, "c1", "t", "b"),
            new ClaimAdjudicated("c1", "judge", Stance.Refutes, "r", 3));
        var json = System.Text.Json.JsonSerializer.Serialize(v, EventTypes.JsonOptions);
        Assert.Contains("\"status\":\"ADJUDICATED\"", json);
        Assert.Equal(v, System.Text.Json.JsonSerializer.Deserialize<ClaimConsensus>(json, EventTypes.JsonOptions));
    }

    [Fact]
    public void Folding_a_stream_of_several_claims_for_one_claim_ignores_the_others()
    {
        var other = new ClaimOpened("c2", "a1", "zed", 40, 50, "other", "", "", "other");
        var mixed = new IDomainEvent[]
        {
            other, Opened, new StanceTaken("c2", "zed", Stance.Supports, "", ValueList<EvidenceSpan>.Empty),
            Take("b", Stance.Refutes), new TagApplied(TagTargetKind.Claim, "c2", "x", "zed"), Opened,
        };
        var positioned = mixed.Select((e, i) => new PositionedEvent(i, T0, e)).ToList();
        var v = ConsensusProjection.Fold(positioned, ConsensusPolicy.Default, "c1")!;
        var alone = Fold(Opened, Take("b", Stance.Refutes));
        Assert.Equal(
            alone with
            {
                LastPosition = 3,
                LastRecordedAt = T0,
                Stances = alone.Stances.Select(s => s with { TakenAt = T0 }).ToValueList(),
            },
            v);
        Assert.Equal(2, v.Version);
        Assert.Equal(2, Annotate.Domain.Claims.Claim.Fold(mixed, "c1").Version);
        Assert.Equal(3, Annotate.Domain.Claims.Claim.Fold(mixed, "c2").Version);
    }
}
