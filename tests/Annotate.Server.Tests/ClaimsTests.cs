using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>The Claims service end to end: opening (with duplicate detection), stances, adjudication and reopening.</summary>
public sealed class ClaimsTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text =
        "Kazakhstan has a large Russian majority, the speaker said. Officials disagreed. " +
        "Russians are about 20 percent of the population. The border is long.";

    private GrpcChannel Ch => server.Channel;

    private async Task<string> OpenAsync(string article, CallOptions who, string quote = "Kazakhstan has a large Russian majority") =>
        (
            await Ch.Claims()
                .OpenClaimAsync(
                    new OpenClaimRequest
                    {
                        RequestId = Rid(),
                        ArticleId = article,
                        Selector = Quote(quote),
                    },
                    who)
        ).ClaimId;

    private Task<CommandResult> StanceAsync(string claim, Stance stance, CallOptions who, params ArticleSpan[] evidence)
    {
        var request = new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = stance, Rationale = "because" };
        request.Evidence.AddRange(evidence);
        return Ch.Claims().TakeStanceAsync(request, who).ResponseAsync;
    }

    private Task<ClaimView> ViewAsync(string claim, CallOptions who) =>
        Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, who).ResponseAsync;

    private Task<CommandResult> AdjudicateAsync(string claim, long version, CallOptions who, Stance verdict = Stance.Refutes) =>
        Ch.Claims().AdjudicateAsync(new AdjudicateRequest
        {
            RequestId = Rid(),
            ClaimId = claim,
            Verdict = verdict,
            Rationale = "census figures",
            ExpectedVersion = version,
        }, who).ResponseAsync;

    [Fact]
    public async Task Opening_a_claim_by_quote_answers_its_resolved_span_and_the_statement_defaults_to_the_quote()
    {
        var article = await server.ImportAsync(Text);
        var (analyst, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        var opened = await Ch.Claims()
            .OpenClaimAsync(
                new OpenClaimRequest
                {
                    RequestId = Rid(),
                    ArticleId = article,
                    Selector = Quote("Kazakhstan has a large Russian majority"),
                },
                who);

        Assert.False(opened.Existing);
        Assert.False(opened.Result.Deduplicated);
        Assert.Equal(0u, opened.Selector.Position.Start);
        Assert.Equal(39u, opened.Selector.Position.End);
        var view = await ViewAsync(opened.ClaimId, who);
        Assert.Equal("Kazakhstan has a large Russian majority", view.Statement);
        Assert.Equal(analyst, view.OpenedBy);
        Assert.Equal(article, view.ArticleId);
        Assert.Equal(ClaimStatus.Pending, view.Status);
        Assert.Equal(opened.Result.Position, view.LastPosition);
    }

    [Fact]
    public async Task Opening_a_span_covering_nearly_the_same_text_returns_the_existing_claim_and_a_different_span_a_new_one()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bob) = await server.NewAnalystAsync("bob", Role.Analyst);
        var first = await OpenAsync(article, ana);

        // 35 of 39 code points: intersection over union 0.9.
        var again = await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Kazakhstan has a large Russian maj") }, bob);
        var other = await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Kazakhstan has a large") }, bob);

        Assert.Equal(first, again.ClaimId);
        Assert.True(again.Existing);
        Assert.Equal(39u, again.Selector.Position.End);
        // Nothing new was written: the answer is the opening event's, with its receipt.
        Assert.True(again.Result.Deduplicated);
        Assert.Matches("^[0-9a-f]{64}$", again.Result.ReceiptHash);
        Assert.Equal($"article-claims-{article}", again.Result.StreamId);
        Assert.True(again.Result.Position < other.Result.Position);
        Assert.NotEqual(first, other.ClaimId);
        Assert.False(other.Existing);
        var claims = await Ch.Consensus().ListClaimsAsync(new ListClaimsRequest { ArticleId = article }, ana);
        Assert.Equal(2, claims.Claims.Count);
    }

    [Fact]
    public async Task The_same_open_request_twice_writes_one_event_and_answers_the_same_claim()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var request = new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("The border is long.") };

        var first = await Ch.Claims().OpenClaimAsync(request, who);
        var second = await Ch.Claims().OpenClaimAsync(request, who);

        Assert.Equal(first.ClaimId, second.ClaimId);
        Assert.True(second.Result.Deduplicated);
        Assert.False(second.Existing); // it is this request's own claim
        Assert.Equal(first.Result.Position, second.Result.Position);
        Assert.Single(await server.EventsOfRequestAsync(request.RequestId));
    }

    [Fact]
    public async Task A_new_stance_replaces_the_analysts_previous_one_and_a_withdrawn_stance_no_longer_counts()
    {
        var article = await server.ImportAsync(Text);
        var (analyst, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var claim = await OpenAsync(article, who);

        await StanceAsync(claim, Stance.Supports, who);
        await StanceAsync(claim, Stance.Refutes, who);
        var view = await ViewAsync(claim, who);
        var current = Assert.Single(view.Stances);
        Assert.Equal(analyst, current.Analyst);
        Assert.Equal(Stance.Refutes, current.Stance);
        Assert.Equal([new StanceTally { Stance = Stance.Refutes, Count = 1 }], view.Tallies);

        var withdrawn = await Ch.Claims().WithdrawStanceAsync(new WithdrawStanceRequest { RequestId = Rid(), ClaimId = claim }, who);

        view = await ViewAsync(claim, who);
        Assert.Empty(view.Stances);
        Assert.Empty(view.Tallies);
        Assert.Equal(withdrawn.Position, view.LastPosition);
        Assert.Contains(analyst, view.Contributors);
        var e = await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Claims().WithdrawStanceAsync(
            new WithdrawStanceRequest { RequestId = Rid(), ClaimId = claim }, who));
        Assert.Contains("no stance", e.Status.Detail);
    }

    [Fact]
    public async Task Evidence_is_resolved_in_its_own_article_and_an_unknown_evidence_article_is_not_found()
    {
        var article = await server.ImportAsync(Text);
        var source = await server.ImportAsync("A census: ethnic Russians are about 20 percent of residents.");
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var claim = await OpenAsync(article, who);

        await StanceAsync(claim, Stance.Refutes, who, new ArticleSpan { ArticleId = source, Selector = Quote("about 20 percent") });

        var evidence = Assert.Single((await ViewAsync(claim, who)).Evidence);
        Assert.Equal(source, evidence.Span.ArticleId);
        Assert.Equal(
            (uint)CodePoint("A census: ethnic Russians are about 20 percent of residents.", "about"),
            evidence.Span.Selector.Position.Start);
        await RefusedAsync(
            StatusCode.NotFound,
            () =>
                StanceAsync(
                    claim,
                    Stance.Refutes,
                    who,
                    new ArticleSpan { ArticleId = "no-such-article", Selector = Quote("about 20 percent") }));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () => StanceAsync(claim, Stance.Refutes, who, new ArticleSpan { ArticleId = source, Selector = At(10, 5) }));
    }

    [Fact]
    public async Task Stances_and_withdrawals_on_an_adjudicated_claim_fail_their_precondition_until_it_is_reopened()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, ana);
        await StanceAsync(claim, Stance.Refutes, ana);
        await AdjudicateAsync(claim, (await ViewAsync(claim, judge)).Version, judge);

        var stance = await RefusedAsync(StatusCode.FailedPrecondition, () => StanceAsync(claim, Stance.Supports, ana));
        var withdraw = await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Claims().WithdrawStanceAsync(
            new WithdrawStanceRequest { RequestId = Rid(), ClaimId = claim }, ana));
        Assert.Contains("adjudicated", stance.Status.Detail);
        Assert.Contains("adjudicated", withdraw.Status.Detail);
        var again = await RefusedAsync(StatusCode.FailedPrecondition, () => AdjudicateAsync(claim, 0, judge));
        Assert.Contains("already adjudicated", again.Status.Detail);

        await Ch.Claims().ReopenClaimAsync(new ReopenClaimRequest { RequestId = Rid(), ClaimId = claim, Reason = "new census" }, judge);

        var view = await ViewAsync(claim, ana);
        Assert.Equal(ClaimStatus.Pending, view.Status);
        Assert.Null(view.Adjudication);
        await StanceAsync(claim, Stance.Supports, ana);
        Assert.Equal(Stance.Supports, Assert.Single((await ViewAsync(claim, ana)).Stances).Stance);
    }

    [Fact]
    public async Task A_stale_adjudication_is_aborted_naming_the_newer_events()
    {
        var article = await server.ImportAsync(Text);
        var (ana, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (bob, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, anaCall);
        await StanceAsync(claim, Stance.Refutes, anaCall);
        var seen = await ViewAsync(claim, judge);
        await StanceAsync(claim, Stance.Supports, bobCall);
        await Ch.Annotations()
            .ApplyTagAsync(
                new ApplyTagRequest
                {
                    RequestId = Rid(),
                    Target = new TagTarget { ClaimId = claim },
                    Tag = "census",
                },
                anaCall);

        var e = await RefusedAsync(StatusCode.Aborted, () => AdjudicateAsync(claim, seen.Version, judge));

        Assert.Contains($"{bob} took stance", e.Status.Detail);
        Assert.Contains($"{ana} tagged it census", e.Status.Detail);
        Assert.DoesNotContain($"{ana} took stance", e.Status.Detail); // that one the adjudicator had seen
        Assert.NotEqual(ClaimStatus.Adjudicated, (await ViewAsync(claim, judge)).Status);

        var fresh = await ViewAsync(claim, judge);
        await AdjudicateAsync(claim, fresh.Version, judge);
        Assert.Equal(ClaimStatus.Adjudicated, (await ViewAsync(claim, judge)).Status);
    }

    [Fact]
    public async Task Reopening_an_open_claim_fails_its_precondition()
    {
        var article = await server.ImportAsync(Text);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, judge); // an adjudicator may do what an analyst may

        await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Claims().ReopenClaimAsync(
            new ReopenClaimRequest { RequestId = Rid(), ClaimId = claim, Reason = "why not" }, judge));
    }

    [Fact]
    public async Task An_analyst_may_not_adjudicate_or_reopen_and_an_auditor_may_not_open_or_take_a_stance()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, auditor) = await server.NewAnalystAsync("auditor", Role.Auditor);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, ana);
        await StanceAsync(claim, Stance.Refutes, ana);

        await RefusedAsync(StatusCode.PermissionDenied, () => AdjudicateAsync(claim, 2, ana));
        await RefusedAsync(StatusCode.PermissionDenied, () => StanceAsync(claim, Stance.Supports, auditor));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Claims().WithdrawStanceAsync(
            new WithdrawStanceRequest { RequestId = Rid(), ClaimId = claim }, auditor));
        await RefusedAsync(StatusCode.PermissionDenied, () => OpenAsync(article, auditor, "The border is long."));
        await AdjudicateAsync(claim, (await ViewAsync(claim, judge)).Version, judge);
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Claims().ReopenClaimAsync(
            new ReopenClaimRequest { RequestId = Rid(), ClaimId = claim, Reason = "disagree" }, ana));

        var view = await ViewAsync(claim, auditor); // reading is open to every role
        Assert.Equal(ClaimStatus.Adjudicated, view.Status);
        Assert.Single(view.Stances);
    }

    [Fact]
    public async Task Commands_on_an_unknown_claim_or_article_are_not_found()
    {
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        const string missing = "c0123456789ab";

        await RefusedAsync(StatusCode.NotFound, () => StanceAsync(missing, Stance.Supports, judge));
        await RefusedAsync(
            StatusCode.NotFound,
            () => Ch.Claims().WithdrawStanceAsync(new WithdrawStanceRequest { RequestId = Rid(), ClaimId = missing }, judge));
        await RefusedAsync(StatusCode.NotFound, () => AdjudicateAsync(missing, 1, judge));
        await RefusedAsync(
            StatusCode.NotFound,
            () =>
                Ch.Claims()
                    .ReopenClaimAsync(
                        new ReopenClaimRequest
                        {
                            RequestId = Rid(),
                            ClaimId = missing,
                            Reason = "r",
                        },
                        judge));
        await RefusedAsync(StatusCode.NotFound, () => OpenAsync("no-such-article", judge));
    }

    [Fact]
    public async Task Bad_claim_inputs_are_invalid()
    {
        var article = await server.ImportAsync(Text);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, judge);

        await RefusedAsync(StatusCode.InvalidArgument, () => StanceAsync(claim, Stance.Unspecified, judge));
        await RefusedAsync(StatusCode.InvalidArgument, () => AdjudicateAsync(claim, 1, judge, Stance.Unspecified));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Claims()
                    .AdjudicateAsync(
                        new AdjudicateRequest
                        {
                            RequestId = Rid(),
                            ClaimId = claim,
                            Verdict = Stance.Refutes,
                            Rationale = "",
                            ExpectedVersion = 1,
                        },
                        judge));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Claims()
                    .OpenClaimAsync(
                        new OpenClaimRequest
                        {
                            RequestId = Rid(),
                            ArticleId = article,
                            Selector = Quote("The border is long."),
                            Statement = new string('x', 1001),
                        },
                        judge));
        await RefusedAsync(
            StatusCode.InvalidArgument,
            () =>
                Ch.Claims()
                    .OpenClaimAsync(
                        new OpenClaimRequest
                        {
                            RequestId = Rid(),
                            ArticleId = article,
                            Selector = At(3, 3),
                        },
                        judge));
    }

    [Fact]
    public async Task Claim_commands_with_an_empty_request_id_are_invalid()
    {
        var article = await server.ImportAsync(Text);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, judge);
        await StanceAsync(claim, Stance.Refutes, judge);

        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { ArticleId = article, Selector = Quote("The border is long.") }, judge));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Claims().TakeStanceAsync(
            new TakeStanceRequest { ClaimId = claim, Stance = Stance.Supports }, judge));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Claims().WithdrawStanceAsync(
            new WithdrawStanceRequest { ClaimId = claim }, judge));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Claims().AdjudicateAsync(
            new AdjudicateRequest { ClaimId = claim, Verdict = Stance.Refutes, Rationale = "r", ExpectedVersion = 2 }, judge));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Claims().ReopenClaimAsync(
            new ReopenClaimRequest { ClaimId = claim, Reason = "r" }, judge));

        var view = await ViewAsync(claim, judge);
        Assert.Equal(Stance.Refutes, Assert.Single(view.Stances).Stance);
        Assert.Single((await Ch.Consensus().ListClaimsAsync(new ListClaimsRequest { ArticleId = article }, judge)).Claims);
    }

    [Fact]
    public async Task Retried_stance_adjudication_and_reopen_requests_each_write_one_event()
    {
        var article = await server.ImportAsync(Text);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, judge);

        var stance = new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = Stance.Refutes, Rationale = "r" };
        var s1 = await Ch.Claims().TakeStanceAsync(stance, judge);
        var s2 = await Ch.Claims().TakeStanceAsync(stance, judge);
        var adjudicate = new AdjudicateRequest
        {
            RequestId = Rid(),
            ClaimId = claim,
            Verdict = Stance.Refutes,
            Rationale = "r",
            ExpectedVersion = (await ViewAsync(claim, judge)).Version,
        };
        var a1 = await Ch.Claims().AdjudicateAsync(adjudicate, judge);
        var a2 = await Ch.Claims().AdjudicateAsync(adjudicate, judge);
        var reopen = new ReopenClaimRequest { RequestId = Rid(), ClaimId = claim, Reason = "r" };
        var r1 = await Ch.Claims().ReopenClaimAsync(reopen, judge);
        var r2 = await Ch.Claims().ReopenClaimAsync(reopen, judge);
        var withdraw = new WithdrawStanceRequest { RequestId = Rid(), ClaimId = claim };
        var w1 = await Ch.Claims().WithdrawStanceAsync(withdraw, judge);
        var w2 = await Ch.Claims().WithdrawStanceAsync(withdraw, judge);

        foreach (
            var (first, second, requestId) in new[]
            {
                (s1, s2, stance.RequestId),
                (a1, a2, adjudicate.RequestId),
                (r1, r2, reopen.RequestId),
                (w1, w2, withdraw.RequestId),
            })
        {
            Assert.False(first.Deduplicated);
            Assert.True(second.Deduplicated);
            Assert.Equal(first.Position, second.Position);
            Assert.Equal(first.ReceiptHash, second.ReceiptHash);
            Assert.Single(await server.EventsOfRequestAsync(requestId));
        }
        var claimEvents = await server.ReplayAsync(
            new ReplayRequest
            {
                FromPosition = 1,
                Filter = new EventFilter { ClaimId = claim },
            });
        Assert.Equal(
            ["claim-opened.v1", "stance-taken.v1", "claim-adjudicated.v1", "claim-reopened.v1", "stance-withdrawn.v1"],
            claimEvents.Select(e => e.Type));
    }
}
