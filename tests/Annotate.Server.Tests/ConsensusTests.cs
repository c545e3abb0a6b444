using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>The Consensus service end to end: claim views, listing, agreement, as-of answers and the live watch.</summary>
public sealed class ConsensusTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text =
        "First, the bridge was built in 1950. Second, the river floods every spring. " +
        "Third, the town has ten thousand people. Fourth, the mayor was re-elected twice.";

    private GrpcChannel Ch => server.Channel;

    private async Task<string> OpenAsync(string article, string quote, CallOptions who) =>
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

    private Task<CommandResult> StanceAsync(string claim, Stance stance, CallOptions who) =>
        Ch.Claims()
            .TakeStanceAsync(
                new TakeStanceRequest
                {
                    RequestId = Rid(),
                    ClaimId = claim,
                    Stance = stance,
                    Rationale = "read it",
                },
                who)
            .ResponseAsync;

    private Task<ClaimView> ViewAsync(string claim, CallOptions who, AsOf? asOf = null) =>
        Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim, AsOf = asOf }, who).ResponseAsync;

    private Task<ListClaimsResponse> ListAsync(string article, CallOptions who, AsOf? asOf = null, params ClaimStatus[] statuses) =>
        Ch.Consensus()
            .ListClaimsAsync(
                new ListClaimsRequest
                {
                    ArticleId = article,
                    AsOf = asOf,
                    Statuses = { statuses },
                },
                who)
            .ResponseAsync;

    private Task<ArticleAgreement> AgreementAsync(string article, CallOptions who, AsOf? asOf = null) =>
        Ch.Consensus().GetArticleAgreementAsync(new GetArticleAgreementRequest { ArticleId = article, AsOf = asOf }, who).ResponseAsync;

    private async Task<List<(string Id, CallOptions Who)>> AnalystsAsync(int count)
    {
        var list = new List<(string, CallOptions)>();
        for (var i = 0; i < count; i++) list.Add(await server.NewAnalystAsync("analyst", Role.Analyst));
        return list;
    }

    [Fact]
    public async Task A_claim_stays_pending_below_quorum_is_decided_at_two_thirds_and_contested_below()
    {
        var article = await server.ImportAsync(Text);
        var a = await AnalystsAsync(4);
        var claim = await OpenAsync(article, "the bridge was built in 1950", a[0].Who);

        var taken = new Dictionary<string, CommandResult>
        {
            [a[0].Id] = await StanceAsync(claim, Stance.Supports, a[0].Who),
            [a[1].Id] = await StanceAsync(claim, Stance.Supports, a[1].Who),
        };
        var pending = await ViewAsync(claim, a[0].Who);
        taken[a[2].Id] = await StanceAsync(claim, Stance.Refutes, a[2].Who);
        var supported = await ViewAsync(claim, a[0].Who);
        var last = taken[a[3].Id] = await StanceAsync(claim, Stance.NeedsContext, a[3].Who);
        var contested = await ViewAsync(claim, a[0].Who);

        Assert.Equal(ClaimStatus.Pending, pending.Status);
        Assert.Equal(1.0, pending.Agreement, 6);
        Assert.Equal(3u, pending.Quorum);
        Assert.Equal(2.0 / 3.0, pending.Threshold, 3);

        Assert.Equal(ClaimStatus.Supported, supported.Status);
        Assert.Equal(2.0 / 3.0, supported.Agreement, 6);
        Assert.Equal(Stance.Supports, supported.LeadingStance);
        Assert.Equal(
            [new StanceTally { Stance = Stance.Supports, Count = 2 }, new StanceTally { Stance = Stance.Refutes, Count = 1 }],
            supported.Tallies);

        Assert.Equal(ClaimStatus.Contested, contested.Status);
        Assert.Equal(0.5, contested.Agreement, 6);
        Assert.Equal(Stance.Supports, contested.LeadingStance);
        Assert.Equal(4, contested.Stances.Count);
        // Each stance carries the time its StanceTaken event was recorded.
        Assert.All(contested.Stances, st => Assert.Equal(taken[st.Analyst].RecordedAt, st.TakenAt));
        Assert.Equal(a.Select(x => x.Id).Order(StringComparer.Ordinal), contested.Contributors);
        Assert.Equal(last.Position, contested.LastPosition);
        Assert.Equal(last.RecordedAt, contested.LastEventAt);
        Assert.Equal(5, contested.Version); // the opening and four stances
    }

    [Fact]
    public async Task A_view_asked_with_a_min_position_reflects_at_least_that_position()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var claim = await OpenAsync(article, "the river floods every spring", who);
        var stance = await StanceAsync(claim, Stance.Refutes, who);

        var view = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim, MinPosition = stance.Position }, who);

        Assert.True(view.LastPosition >= stance.Position);
        Assert.Single(view.Stances);
    }

    [Fact]
    public async Task Unknown_claims_and_articles_are_not_found()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Auditor);

        await RefusedAsync(StatusCode.NotFound, () => ViewAsync("c0123456789ab", who));
        await RefusedAsync(StatusCode.NotFound, () => ListAsync("no-such-article", who));
        await RefusedAsync(StatusCode.NotFound, () => AgreementAsync("no-such-article", who));
        using var watch = Ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = "no-such-article" }, who);
        await RefusedAsync(StatusCode.NotFound, () => watch.ResponseStream.MoveNext(CancellationToken.None));
    }

    [Fact]
    public async Task Claims_are_listed_by_span_start_filtered_by_status_and_paged()
    {
        var article = await server.ImportAsync(Text);
        var a = await AnalystsAsync(3);
        var fourth = await OpenAsync(article, "the mayor was re-elected twice", a[0].Who);
        var first = await OpenAsync(article, "the bridge was built in 1950", a[0].Who);
        var third = await OpenAsync(article, "the town has ten thousand people", a[0].Who);
        foreach (var (_, who) in a) await StanceAsync(third, Stance.Unverifiable, who);

        var all = await ListAsync(article, a[0].Who);
        var unverifiable = await ListAsync(article, a[0].Who, null, ClaimStatus.Unverifiable);
        var pendingOrContested = await ListAsync(article, a[0].Who, null, ClaimStatus.Pending, ClaimStatus.Contested);

        Assert.Equal([first, third, fourth], all.Claims.Select(c => c.ClaimId));
        Assert.Equal([third], unverifiable.Claims.Select(c => c.ClaimId));
        Assert.Equal([first, fourth], pendingOrContested.Claims.Select(c => c.ClaimId));

        var paged = new List<string>();
        var token = "";
        do
        {
            var page = await Ch.Consensus().ListClaimsAsync(
                new ListClaimsRequest { ArticleId = article, Page = new PageRequest { PageSize = 1, PageToken = token } }, a[1].Who);
            paged.AddRange(page.Claims.Select(c => c.ClaimId));
            token = page.NextPageToken;
        } while (token != "" && paged.Count < 10);
        Assert.Equal([first, third, fourth], paged);
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Consensus().ListClaimsAsync(
            new ListClaimsRequest { ArticleId = article, Page = new PageRequest { PageSize = 501 } }, a[1].Who));
    }

    [Fact]
    public async Task Article_agreement_is_krippendorffs_alpha_of_a_hand_computed_case()
    {
        // Units (claims) x coders (analysts), nominal, one value missing, one unit with a single value:
        //   claim 1: S S S    claim 2: S R R    claim 3: R R -    claim 4: S - -
        // Pairable values n = 8 (claim 4 does not pair); n_S = 4, n_R = 4.
        // Coincidences: o_SS = 3 + 0 + 0 = 3, o_RR = 0 + 1 + 2 = 3, o_SR = o_RS = 1 (from claim 2).
        // D_o = (o_SR + o_RS) / n = 2/8 = 0.25; D_e = (n_S n_R + n_R n_S) / (n (n - 1)) = 32/56;
        // alpha = 1 - D_o / D_e = 1 - 0.4375 = 0.5625.
        var article = await server.ImportAsync(Text);
        var a = await AnalystsAsync(3);
        var c1 = await OpenAsync(article, "the bridge was built in 1950", a[0].Who);
        var c2 = await OpenAsync(article, "the river floods every spring", a[0].Who);
        var c3 = await OpenAsync(article, "the town has ten thousand people", a[0].Who);
        var c4 = await OpenAsync(article, "the mayor was re-elected twice", a[0].Who);
        foreach (var (_, who) in a) await StanceAsync(c1, Stance.Supports, who);
        await StanceAsync(c2, Stance.Supports, a[0].Who);
        await StanceAsync(c2, Stance.Refutes, a[1].Who);
        await StanceAsync(c2, Stance.Refutes, a[2].Who);
        await StanceAsync(c3, Stance.Refutes, a[0].Who);
        await StanceAsync(c3, Stance.Refutes, a[1].Who);
        var last = await StanceAsync(c4, Stance.Supports, a[2].Who);

        var agreement = await AgreementAsync(article, a[0].Who);

        Assert.Equal(article, agreement.ArticleId);
        Assert.True(agreement.HasAlpha);
        Assert.Equal(0.5625, agreement.Alpha, 9);
        Assert.Equal(0.25, agreement.ObservedDisagreement, 9);
        Assert.Equal(32.0 / 56.0, agreement.ExpectedDisagreement, 9);
        Assert.Equal(3u, agreement.Units);
        Assert.Equal(3u, agreement.Analysts);
        Assert.Equal(8u, agreement.PairableValues);
        Assert.Equal(last.Position, agreement.AsOfPosition);
    }

    [Fact]
    public async Task Agreement_is_undefined_when_nothing_can_be_paired()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        await StanceAsync(await OpenAsync(article, "the bridge was built in 1950", who), Stance.Supports, who);

        var agreement = await AgreementAsync(article, who);

        Assert.False(agreement.HasAlpha);
        Assert.Equal(0u, agreement.Units);
        Assert.Equal(1u, agreement.Analysts);
    }

    [Fact]
    public async Task Views_lists_and_agreement_as_of_a_position_or_a_time_equal_what_was_live_then()
    {
        var article = await server.ImportAsync(Text);
        var a = await AnalystsAsync(3);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, "the bridge was built in 1950", a[0].Who);
        var other = await OpenAsync(article, "the river floods every spring", a[1].Who);

        var live = new List<(CommandResult At, ClaimView View, ListClaimsResponse List, ArticleAgreement Agreement)>();
        async Task Capture(CommandResult at) =>
            live.Add((at, await ViewAsync(claim, a[0].Who), await ListAsync(article, a[0].Who), await AgreementAsync(article, a[0].Who)));

        await Capture(await StanceAsync(claim, Stance.Supports, a[0].Who));
        await Capture(await StanceAsync(other, Stance.Refutes, a[0].Who));
        await Capture(await StanceAsync(claim, Stance.Refutes, a[1].Who));
        await Capture(await StanceAsync(other, Stance.Refutes, a[1].Who));
        await Capture(await StanceAsync(claim, Stance.Refutes, a[2].Who));
        await Capture(await Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { ClaimId = claim }, Tag = "dates" }, a[2].Who));
        var version = (await ViewAsync(claim, judge)).Version;
        await Capture(
            await Ch.Claims()
                .AdjudicateAsync(
                    new AdjudicateRequest
                    {
                        RequestId = Rid(),
                        ClaimId = claim,
                        Verdict = Stance.Refutes,
                        Rationale = "records",
                        ExpectedVersion = version,
                    },
                    judge));
        await Capture(await Ch.Claims().WithdrawStanceAsync(new WithdrawStanceRequest { RequestId = Rid(), ClaimId = other }, a[0].Who));
        Assert.Equal(ClaimStatus.Adjudicated, live[^1].View.Status);
        Assert.Equal(ClaimStatus.Refuted, live[4].View.Status);

        foreach (var (at, view, list, agreement) in live)
        {
            foreach (var asOf in new[] { new AsOf { Position = at.Position }, new AsOf { Time = at.RecordedAt } })
            {
                Assert.Equal(view, await ViewAsync(claim, a[0].Who, asOf));
                var listed = await ListAsync(article, a[0].Who, asOf);
                Assert.Equal(list.Claims, listed.Claims);
                Assert.Equal(at.Position, listed.AsOfPosition);
                var agreed = await AgreementAsync(article, a[0].Who, asOf);
                Assert.Equal(agreement, agreed);
            }
        }
        await RefusedAsync(StatusCode.NotFound, () => ViewAsync(other, a[0].Who, new AsOf { Position = live[0].At.Position - 3 }));
    }

    [Fact]
    public async Task Watching_an_article_sends_current_views_a_caught_up_marker_then_changes_made_by_another_analyst()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (bob, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var first = await OpenAsync(article, "the bridge was built in 1950", ana);
        var stance = await StanceAsync(first, Stance.Supports, ana);
        var second = await OpenAsync(article, "the river floods every spring", ana);
        using var cts = new CancellationTokenSource();
        using var watch = Ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = article }, Streaming(ana, cts.Token));

        var initial = await ReadUntilAsync(
            watch.ResponseStream,
            seen => seen.Any(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition));

        Assert.Equal(3, initial.Count);
        Assert.Equal(
            new[] { first, second }.Order(StringComparer.Ordinal),
            initial.Take(2).Select(m => m.View.ClaimId).Order(StringComparer.Ordinal));
        Assert.Equal(await ViewAsync(first, ana), initial.Single(m => m.View?.ClaimId == first).View);
        Assert.True(initial[^1].CaughtUpPosition >= stance.Position);

        var elsewhere = await server.ImportAsync(Text);
        await StanceAsync(await OpenAsync(elsewhere, "the bridge was built in 1950", bobCall), Stance.Supports, bobCall);
        var bobs = await StanceAsync(first, Stance.Refutes, bobCall);
        var changed = await ReadUntilAsync(watch.ResponseStream, seen => seen.Any(m => m.View?.LastPosition == bobs.Position));
        var view = changed.Single(m => m.View?.LastPosition == bobs.Position).View;
        Assert.Equal(first, view.ClaimId);
        Assert.All(changed, m => Assert.Equal(article, m.View.ArticleId)); // nothing of the other article
        Assert.Contains(view.Stances, s => s.Analyst == bob && s.Stance == Stance.Refutes);
        Assert.Equal(await ViewAsync(first, ana), view);

        var third = (
            await Ch.Claims()
                .OpenClaimAsync(
                    new OpenClaimRequest
                    {
                        RequestId = Rid(),
                        ArticleId = article,
                        Selector = Quote("the mayor was re-elected twice"),
                    },
                    bobCall)
        ).ClaimId;
        var opened = await ReadUntilAsync(watch.ResponseStream, seen => seen.Any(m => m.View?.ClaimId == third));
        Assert.Equal(ClaimStatus.Pending, opened.Single(m => m.View?.ClaimId == third).View.Status);
        await cts.CancelAsync();
    }
}
