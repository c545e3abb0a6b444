using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// Blind claims end to end: every read RPC an analyst may call, called as analyst B before and after B's own stance, never
/// shows A's stance, rationale, tally or status before; adjudicators and auditors see everything; a reveal shows it to all.
/// </summary>
public sealed class BlindStanceTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "The harbour opened in 1901. Ships came. The mayor said it twice. The bridge fell in 1950.";
    private const string Secret = "the census of 1897 contradicts it";

    private GrpcChannel Ch => server.Channel;

    private async Task<string> OpenAsync(string article, string quote, CallOptions who) =>
        (await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote(quote) }, who)).ClaimId;

    private Task<CommandResult> StanceAsync(string claim, Stance stance, CallOptions who, string rationale = "") =>
        Ch.Claims().TakeStanceAsync(new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = stance, Rationale = rationale },
            who)
            .ResponseAsync;

    private Task<ClaimView> ViewAsync(string claim, CallOptions who, AsOf? asOf = null) =>
        Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim, AsOf = asOf }, who).ResponseAsync;

    private async Task<List<ClaimView>> ListAsync(string article, CallOptions who, AsOf? asOf = null, params ClaimStatus[] statuses)
    {
        var request = new ListClaimsRequest { ArticleId = article, AsOf = asOf };
        request.Statuses.AddRange(statuses);
        return [.. (await Ch.Consensus().ListClaimsAsync(request, who)).Claims];
    }

    private async Task<List<HistoryEvent>> SubscribedAsync(string article, CallOptions who)
    {
        using var cts = new CancellationTokenSource();
        using var call = Ch.History().Subscribe(
            new SubscribeRequest { Filter = new EventFilter { ArticleId = article } }, Streaming(who, cts.Token));
        var seen = await ReadUntilAsync(
            call.ResponseStream, s => s.Any(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition));
        await cts.CancelAsync();
        return [.. seen.Where(m => m.ItemCase == SubscribeResponse.ItemOneofCase.Event).Select(m => m.Event)];
    }

    private static void AssertHidden(ClaimView v)
    {
        Assert.True(v.Blind);
        Assert.True(v.Hidden);
        Assert.Equal(ClaimStatus.Unspecified, v.Status);
        Assert.Empty(v.Stances);
        Assert.Empty(v.Tallies);
        Assert.Empty(v.Evidence);
        Assert.Empty(v.Contributors);
        Assert.Equal((0.0, Stance.Unspecified, 0L, 0UL), (v.Agreement, v.LeadingStance, v.Version, v.LastPosition));
        Assert.Null(v.Adjudication);
        Assert.DoesNotContain(Secret, v.ToString());
    }

    [Fact]
    public async Task Analyst_B_learns_nothing_of_A_s_stance_on_a_blind_claim_through_any_read_until_B_takes_a_stance()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (bob, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var (_, auditor) = await server.NewAnalystAsync("aud", Role.Auditor);
        var claim = await OpenAsync(article, "The harbour opened in 1901.", ana);
        await Ch.Claims().MakeBlindAsync(new MakeBlindRequest { RequestId = Rid(), ClaimId = claim }, judge);
        var anas = await StanceAsync(claim, Stance.Refutes, ana, Secret);
        await RefusedAsync(StatusCode.PermissionDenied,
            () => Ch.Claims().MakeBlindAsync(new MakeBlindRequest { RequestId = Rid(), ClaimId = claim }, bobCall));
        var at = new AsOf { Position = anas.Position };

        using var cts = new CancellationTokenSource();
        using var watch = Ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = article }, Streaming(bobCall, cts.Token));
        var initial = await ReadUntilAsync(
            watch.ResponseStream, s => s.Any(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition));

        // Before B's stance: every read an analyst may call.
        AssertHidden(await ViewAsync(claim, bobCall));
        AssertHidden(await ViewAsync(claim, bobCall, at));
        AssertHidden(Assert.Single(await ListAsync(article, bobCall)));
        AssertHidden(Assert.Single(await ListAsync(article, bobCall, at)));
        Assert.Empty(await ListAsync(article, bobCall, null, ClaimStatus.Pending, ClaimStatus.Refuted, ClaimStatus.Contested));
        var agreement = await Ch.Consensus().GetArticleAgreementAsync(new GetArticleAgreementRequest { ArticleId = article }, bobCall);
        Assert.Equal((0u, 0u), (agreement.Analysts, agreement.PairableValues));
        AssertHidden(Assert.Single(initial, m => m.View is not null).View);
        var events = await SubscribedAsync(article, bobCall);
        Assert.Contains(events, e => e.Type == "claim-opened.v1");
        Assert.DoesNotContain(events, e => e.Type == "stance-taken.v1" || e.DataJson.Contains(Secret, StringComparison.Ordinal));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.History().Replay(new ReplayRequest(), bobCall).ResponseStream.MoveNext());
        Assert.Empty((await Ch.Discussion().ListThreadAsync(
            new ListThreadRequest { Target = new ReplyTarget { ClaimId = claim } }, bobCall)).Replies);

        // Adjudicators and auditors see everything.
        foreach (var who in new[] { judge, auditor })
        {
            var full = await ViewAsync(claim, who);
            Assert.True(full.Blind);
            Assert.False(full.Hidden);
            Assert.Equal(Secret, Assert.Single(full.Stances).Rationale);
        }
        Assert.Contains(await SubscribedAsync(article, auditor), e => e.DataJson.Contains(Secret, StringComparison.Ordinal));

        // B's own stance shows the claim to B everywhere.
        var bobs = await StanceAsync(claim, Stance.Supports, bobCall);
        var shown = await ViewAsync(claim, bobCall);
        Assert.False(shown.Hidden);
        Assert.Equal(["", Secret], shown.Stances.Select(s => s.Rationale).Order(StringComparer.Ordinal));
        Assert.NotEqual(ClaimStatus.Unspecified, shown.Status);
        Assert.Equal(2, Assert.Single(await ListAsync(article, bobCall)).Stances.Count);
        Assert.False((await ViewAsync(claim, bobCall, new AsOf { Position = bobs.Position })).Hidden);
        Assert.Equal(2u, (await Ch.Consensus().GetArticleAgreementAsync(
            new GetArticleAgreementRequest { ArticleId = article }, bobCall)).Analysts);
        Assert.Contains(await SubscribedAsync(article, bobCall), e => e.DataJson.Contains(Secret, StringComparison.Ordinal));
        var live = await ReadUntilAsync(watch.ResponseStream, s => s.Any(m => m.View?.LastPosition == bobs.Position));
        Assert.Equal(2, live.Single(m => m.View?.LastPosition == bobs.Position).View.Stances.Count);
        Assert.DoesNotContain(live, m => m.View is { Hidden: false } v && v.LastPosition < bobs.Position);
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Claims_opened_on_a_blind_article_start_blind_until_an_adjudicator_reveals_them_to_all()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var before = await OpenAsync(article, "Ships came.", ana);
        await Ch.Claims().MakeBlindAsync(new MakeBlindRequest { RequestId = Rid(), ArticleId = article }, judge);
        var after = await OpenAsync(article, "The bridge fell in 1950.", ana);
        await StanceAsync(before, Stance.Supports, ana, Secret);
        await StanceAsync(after, Stance.Refutes, ana, Secret);

        Assert.False((await ViewAsync(before, bobCall)).Blind);
        AssertHidden(await ViewAsync(after, bobCall));
        await RefusedAsync(StatusCode.FailedPrecondition,
            () => Ch.Claims().RevealClaimAsync(new RevealClaimRequest { RequestId = Rid(), ClaimId = before }, judge));

        await Ch.Claims().RevealClaimAsync(new RevealClaimRequest { RequestId = Rid(), ClaimId = after }, judge);

        var revealed = await ViewAsync(after, bobCall);
        Assert.False(revealed.Blind || revealed.Hidden);
        Assert.Equal(Secret, Assert.Single(revealed.Stances).Rationale);
        await RefusedAsync(StatusCode.FailedPrecondition,
            () => Ch.Claims().MakeBlindAsync(new MakeBlindRequest { RequestId = Rid(), ClaimId = after }, judge));
    }
}
