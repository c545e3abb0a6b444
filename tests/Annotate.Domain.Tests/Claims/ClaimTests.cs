using Annotate.Domain.Anchoring;
using Annotate.Domain.Claims;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Domain.Tags;
using S = Annotate.Domain.Events.Stance;

namespace Annotate.Domain.Tests.Claims;

public sealed class ClaimTests
{
    private const string ArticleId = "a1";
    private static readonly TextDocument Doc = new("0123456789 The sky is green today. Grass is blue. The end of it all.");

    private static OpenClaimOutcome Open(ClaimIndex index, Selector selector, string newId, string actor = "alice") =>
        Given.Ok(Claim.Decide(index, new OpenClaim(ArticleId, Doc, selector, null), Given.Analyst(actor, newId)));

    private static ClaimState OpenState()
    {
        var outcome = Open(ClaimIndex.Empty(ArticleId), Selector.ForQuote("The sky is green today."), "c1");
        return Claim.Fold(outcome.Events);
    }

    private static ClaimState Then(ClaimState state, Result<IReadOnlyList<IDomainEvent>> decided) =>
        Given.Apply(state, Claim.Evolve, Given.Ok(decided));

    private static TakeStance Take(S stance, string rationale = "r") => new("c1", stance, rationale, []);

    [Fact]
    public void Opening_a_claim_resolves_its_span_and_defaults_the_statement_to_the_quote()
    {
        var outcome = Open(ClaimIndex.Empty(ArticleId), Selector.ForQuote("sky is\ngreen"), "c1");
        Assert.False(outcome.Existing);
        var e = Assert.IsType<ClaimOpened>(Assert.Single(outcome.Events));
        Assert.Equal(("c1", ArticleId, "alice", 15, 27, "sky is green"), (e.ClaimId, e.ArticleId, e.Analyst, e.Start, e.End, e.Statement));
    }

    [Fact]
    public void Intersection_over_union_counts_shared_code_points_over_covered_ones()
    {
        Assert.Equal(1.0, ClaimIndex.IntersectionOverUnion(10, 20, 10, 20));
        Assert.Equal(0.8, ClaimIndex.IntersectionOverUnion(10, 20, 10, 18), 12);
        Assert.Equal(1.0 / 3, ClaimIndex.IntersectionOverUnion(0, 10, 5, 15), 12);
        Assert.Equal(0.0, ClaimIndex.IntersectionOverUnion(0, 10, 10, 20));
    }

    [Fact]
    public void Opening_a_claim_that_covers_the_same_text_returns_the_existing_claim_without_events()
    {
        var index = ClaimIndex.Empty(ArticleId);
        index = Open(index, Selector.AtPosition(11, 34), "c1").Events.Aggregate(index, ClaimIndex.Evolve);
        // 11..34 vs 11..32: IoU 21/23 = 0.91
        var again = Open(index, Selector.AtPosition(11, 32), "c2", "bob");
        Assert.Equal(("c1", true), (again.ClaimId, again.Existing));
        Assert.Empty(again.Events);
    }

    [Fact]
    public void Opening_a_claim_at_exactly_0_8_overlap_is_a_duplicate_and_below_it_is_new()
    {
        var index = ClaimIndex.Empty(ArticleId);
        index = Open(index, Selector.AtPosition(10, 20), "c1").Events.Aggregate(index, ClaimIndex.Evolve);
        Assert.True(Open(index, Selector.AtPosition(10, 18), "c2").Existing); // 8/10
        Assert.False(Open(index, Selector.AtPosition(10, 17), "c3").Existing); // 7/10
    }

    [Fact]
    public void Duplicate_check_picks_the_best_overlapping_claim()
    {
        var index = ClaimIndex.Empty(ArticleId);
        index = Open(index, Selector.AtPosition(10, 20), "c1").Events.Aggregate(index, ClaimIndex.Evolve);
        // 9/11 = 0.82 with c1: a duplicate
        index = Open(index, Selector.AtPosition(11, 21), "c2").Events.Aggregate(index, ClaimIndex.Evolve);
        Assert.Single(index.Claims);
        // 8/12 = 0.67 with c1: a new claim
        index = Open(index, Selector.AtPosition(12, 22), "c3").Events.Aggregate(index, ClaimIndex.Evolve);
        Assert.Equal(2, index.Claims.Count);
        Assert.Equal("c3", Open(index, Selector.AtPosition(12, 21), "c4").ClaimId); // 9/10 with c3, 8/11 with c1
    }

    [Fact]
    public void Retried_opening_with_the_same_id_returns_that_claim()
    {
        var index = ClaimIndex.Empty(ArticleId);
        index = Open(index, Selector.AtPosition(10, 20), "c1").Events.Aggregate(index, ClaimIndex.Evolve);
        var retry = Open(index, Selector.AtPosition(40, 50), "c1");
        Assert.Equal(("c1", true), (retry.ClaimId, retry.Existing));
    }

    [Fact]
    public void Opening_a_claim_with_a_bad_selector_is_refused()
    {
        Given.Refused(
            Claim.Decide(ClaimIndex.Empty(ArticleId), new OpenClaim(ArticleId, Doc, Selector.AtPosition(5, 500)), Given.Analyst("a", "c1")),
            DomainErrorKind.Invalid);
        Given.Refused(
            Claim.Decide(ClaimIndex.Empty(ArticleId), new OpenClaim(ArticleId, Doc, Selector.ForQuote("purple")), Given.Analyst("a", "c1")),
            DomainErrorKind.Invalid);
    }

    [Fact]
    public void Opening_a_claim_needs_the_analyst_role()
    {
        Given.Refused(
            Claim.Decide(
                ClaimIndex.Empty(ArticleId),
                new OpenClaim(ArticleId, Doc, Selector.AtPosition(0, 5)),
                Given.WithRoles("aud", Role.Auditor)),
            DomainErrorKind.PermissionDenied);
    }

    [Fact]
    public void A_new_stance_replaces_the_analysts_previous_one()
    {
        var state = Then(OpenState(), Claim.Decide(OpenState(), Take(S.Supports), Given.Analyst("bob")));
        state = Then(state, Claim.Decide(state, Take(S.Refutes), Given.Analyst("bob")));
        Assert.Equal(S.Refutes, Assert.Single(state.Stances).Value.Stance);
        Assert.Equal(3, state.Version);
    }

    [Fact]
    public void Repeating_the_identical_stance_decides_nothing()
    {
        var state = Then(OpenState(), Claim.Decide(OpenState(), Take(S.Supports), Given.Analyst("bob")));
        Assert.Empty(Given.Ok(Claim.Decide(state, Take(S.Supports), Given.Analyst("bob"))));
    }

    [Fact]
    public void Stance_evidence_is_resolved_against_the_cited_article()
    {
        var evidenceDoc = Seeds.Document(Seeds.TwentyPercentArticle);
        var command = new TakeStance(
            "c1",
            S.Refutes,
            "minority, not majority",
            [new EvidenceInput(Seeds.TwentyPercentArticle, evidenceDoc, Selector.ForQuote("about 20 percent"))]);
        var e = Assert.IsType<StanceTaken>(Assert.Single(Given.Ok(Claim.Decide(OpenState(), command, Given.Analyst("bob")))));
        var span = Assert.Single(e.Evidence);
        Assert.Equal("about 20 percent", evidenceDoc.Slice(span.Start, span.End));
        Assert.Equal(Seeds.TwentyPercentArticle, span.ArticleId);
    }

    [Fact]
    public void Stance_with_evidence_that_does_not_resolve_is_refused_naming_the_evidence()
    {
        var command = new TakeStance(
            "c1",
            S.Refutes,
            "",
            [new EvidenceInput("a2", Doc, Selector.ForQuote("sky")), new EvidenceInput("a2", Doc, Selector.AtPosition(3, 3))]);
        var e = Given.Refused(Claim.Decide(OpenState(), command, Given.Analyst("bob")), DomainErrorKind.Invalid);
        Assert.StartsWith("Evidence 2 (article a2)", e.Message);
    }

    [Fact]
    public void Stance_with_empty_rationale_is_allowed_but_rationale_and_evidence_are_bounded()
    {
        Assert.Single(Given.Ok(Claim.Decide(OpenState(), Take(S.Supports, ""), Given.Analyst("bob"))));
        Given.Refused(
            Claim.Decide(OpenState(), Take(S.Supports, new string('r', Limits.MaxRationale + 1)), Given.Analyst("bob")),
            DomainErrorKind.Invalid);
        var tooMany = Enumerable
            .Range(0, Limits.MaxEvidence + 1)
            .Select(_ => new EvidenceInput("a1", Doc, Selector.AtPosition(0, 1)))
            .ToList();
        Given.Refused(
            Claim.Decide(OpenState(), new TakeStance("c1", S.Supports, "", tooMany), Given.Analyst("bob")),
            DomainErrorKind.Invalid);
    }

    [Fact]
    public void Stance_on_an_unknown_claim_is_not_found()
    {
        Given.Refused(Claim.Decide(ClaimState.Initial, Take(S.Supports), Given.Analyst("bob")), DomainErrorKind.NotFound);
    }

    [Fact]
    public void Withdrawing_removes_the_current_stance_and_withdrawing_without_one_is_refused()
    {
        var state = Then(OpenState(), Claim.Decide(OpenState(), Take(S.Supports), Given.Analyst("bob")));
        state = Then(state, Claim.Decide(state, new WithdrawStance("c1"), Given.Analyst("bob")));
        Assert.Empty(state.Stances);
        Given.Refused(Claim.Decide(state, new WithdrawStance("c1"), Given.Analyst("bob")), DomainErrorKind.FailedPrecondition);
    }

    [Fact]
    public void Adjudicated_claim_refuses_stances_and_withdrawals_until_reopened()
    {
        var state = Then(OpenState(), Claim.Decide(OpenState(), Take(S.Supports), Given.Analyst("bob")));
        state = Then(
            state,
            Claim.Decide(state, new AdjudicateClaim("c1", S.Refutes, "source says 20%", state.Version), Given.Adjudicator("judge")));
        Assert.Equal((ClaimStatus.Adjudicated, S.Refutes), (state.Status, state.Verdict));

        Assert.Contains(
            "reopens",
            Given.Refused(Claim.Decide(state, Take(S.Refutes), Given.Analyst("carol")), DomainErrorKind.FailedPrecondition).Message);
        Given.Refused(Claim.Decide(state, new WithdrawStance("c1"), Given.Analyst("bob")), DomainErrorKind.FailedPrecondition);

        state = Then(state, Claim.Decide(state, new ReopenClaim("c1", "new evidence"), Given.Adjudicator("judge")));
        Assert.Equal((ClaimStatus.Open, (S?)null), (state.Status, state.Verdict));
        Assert.Single(Given.Ok(Claim.Decide(state, Take(S.Refutes), Given.Analyst("carol"))));
    }

    [Fact]
    public void Stale_adjudication_is_refused_as_a_conflict_naming_the_newer_events()
    {
        var state = OpenState();
        var seen = state.Version;
        state = Then(state, Claim.Decide(state, Take(S.Supports), Given.Analyst("bob")));
        state = Then(state, Claim.Decide(state, new ApplyTag(TagTargetKind.Claim, "c1", "hot"), Given.Analyst("carol")));
        var e = Given.Refused(
            Claim.Decide(state, new AdjudicateClaim("c1", S.Refutes, "r", seen), Given.Adjudicator("judge")),
            DomainErrorKind.Conflict);
        Assert.Contains("v2 bob took stance SUPPORTS", e.Message);
        Assert.Contains("v3 carol tagged it hot", e.Message);
        Assert.Contains("version 3", e.Message);
    }

    [Fact]
    public void Adjudication_naming_a_future_version_is_invalid()
    {
        Given.Refused(
            Claim.Decide(OpenState(), new AdjudicateClaim("c1", S.Refutes, "r", 9), Given.Adjudicator("judge")),
            DomainErrorKind.Invalid);
    }

    [Fact]
    public void Adjudication_needs_the_adjudicator_role_and_a_rationale()
    {
        Given.Refused(
            Claim.Decide(OpenState(), new AdjudicateClaim("c1", S.Refutes, "r", 1), Given.Analyst("bob")),
            DomainErrorKind.PermissionDenied);
        Given.Refused(
            Claim.Decide(OpenState(), new AdjudicateClaim("c1", S.Refutes, "  ", 1), Given.Adjudicator("judge")),
            DomainErrorKind.Invalid);
    }

    [Fact]
    public void Adjudicating_twice_or_reopening_an_open_claim_is_refused()
    {
        var state = Then(
            OpenState(),
            Claim.Decide(OpenState(), new AdjudicateClaim("c1", S.Unverifiable, "r", 1), Given.Adjudicator("judge")));
        Given.Refused(
            Claim.Decide(state, new AdjudicateClaim("c1", S.Refutes, "r", 2), Given.Adjudicator("judge")),
            DomainErrorKind.FailedPrecondition);
        Given.Refused(
            Claim.Decide(OpenState(), new ReopenClaim("c1", null), Given.Adjudicator("judge")),
            DomainErrorKind.FailedPrecondition);
        Given.Refused(Claim.Decide(state, new ReopenClaim("c1", null), Given.Analyst("bob")), DomainErrorKind.PermissionDenied);
    }

    [Fact]
    public void Claim_version_counts_every_claim_event_and_ignores_others()
    {
        var state = OpenState();
        Assert.Equal(1, state.Version);
        state = Claim.Evolve(state, new HighlightRetracted("h", "a", "x"));
        state = Claim.Evolve(state, new TagApplied(TagTargetKind.Highlight, "h", "t", "x"));
        Assert.Equal(1, state.Version);
        state = Claim.Evolve(state, new TagApplied(TagTargetKind.Claim, "c1", "t", "x"));
        Assert.Equal(2, state.Version);
    }

    [Fact]
    public void Claim_and_evidence_spans_longer_than_the_limit_are_refused()
    {
        var big = new TextDocument(new string('w', Limits.MaxSpan + 10));
        Given.Refused(
            Claim.Decide(
                ClaimIndex.Empty(ArticleId),
                new OpenClaim(ArticleId, big, Selector.AtPosition(0, Limits.MaxSpan + 1)),
                Given.Analyst("a", "c1")),
            DomainErrorKind.Invalid);
        Assert.Single(
            Given
                .Ok(
                    Claim.Decide(
                        ClaimIndex.Empty(ArticleId),
                        new OpenClaim(ArticleId, big, Selector.AtPosition(0, Limits.MaxSpan)),
                        Given.Analyst("a", "c1")))
                .Events);
        var e = Given.Refused(
            Claim.Decide(
                OpenState(),
                new TakeStance("c1", S.Refutes, "", [new EvidenceInput("big", big, Selector.AtPosition(0, Limits.MaxSpan + 1))]),
                Given.Analyst("bob")),
            DomainErrorKind.Invalid);
        Assert.Contains("evidence 1", e.Message);
    }
}
