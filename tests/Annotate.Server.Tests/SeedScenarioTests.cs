using Annotate.Contracts.V1;

namespace Annotate.Server.Tests;

/// <summary>The Russian-majority dispute on the seed articles, end to end over gRPC.</summary>
public sealed class SeedScenarioTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Claimed = "russia-involvement-kazakhstan-crisis";
    private const string Evidence = "kazakhstan-concerned-about-invasion";

    [Fact]
    public async Task Two_refutations_citing_twenty_percent_make_the_majority_claim_refuted_until_adjudicated()
    {
        var ch = server.Channel;
        var aigerim = AnnotateServer.As(await server.AnalystAsync("aigerim", Role.Analyst));
        var boris = AnnotateServer.As(await server.AnalystAsync("boris", Role.Analyst));
        var chen = AnnotateServer.As(await server.AnalystAsync("chen", Role.Analyst));
        var judge = AnnotateServer.As(await server.AnalystAsync("judge", Role.Adjudicator));

        var articles = await ch.Articles().ListArticlesAsync(new ListArticlesRequest(), aigerim);
        Assert.Contains(articles.Articles, a => a.ArticleId == Claimed);

        var quote = new Selector { Quote = new TextQuote { Exact = "Kazakhstan has a large Russian majority" } };
        var opened = await Task.WhenAll(
            new[] { aigerim, boris, chen }.Select(who =>
                ch.Claims()
                    .OpenClaimAsync(
                        new OpenClaimRequest
                        {
                            RequestId = Guid.NewGuid().ToString(),
                            ArticleId = Claimed,
                            Selector = quote,
                        },
                        who)
                    .ResponseAsync));
        var claimId = Assert.Single(opened.Select(o => o.ClaimId).Distinct());

        var twenty = new ArticleSpan
        {
            ArticleId = Evidence,
            Selector = new Selector { Quote = new TextQuote { Exact = "about 20 percent" } },
        };
        await ch.Claims().TakeStanceAsync(Stance(claimId, Contracts.V1.Stance.Refutes, twenty), aigerim);
        await ch.Claims().TakeStanceAsync(Stance(claimId, Contracts.V1.Stance.Refutes, twenty), boris);
        var last = await ch.Claims().TakeStanceAsync(Stance(claimId, Contracts.V1.Stance.Supports), chen);

        var view = await ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, chen);
        Assert.Equal(ClaimStatus.Refuted, view.Status);
        Assert.Equal(2.0 / 3.0, view.Agreement, 6);
        Assert.Equal(2, view.Evidence.Count);
        Assert.All(view.Evidence, e => Assert.Equal("about 20 percent", e.Span.Selector.Quote.Exact));

        await ch.Claims().AdjudicateAsync(new AdjudicateRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ClaimId = claimId,
            Verdict = Contracts.V1.Stance.Refutes,
            Rationale = "Census: Russians are about a fifth of the population.",
            ExpectedVersion = view.Version,
        }, judge);

        var adjudicated = await ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, chen);
        Assert.Equal(ClaimStatus.Adjudicated, adjudicated.Status);
        Assert.Equal(Contracts.V1.Stance.Refutes, adjudicated.Adjudication.Verdict);

        var before = await ch.Consensus().GetClaimViewAsync(
            new GetClaimViewRequest { ClaimId = claimId, AsOf = new AsOf { Position = last.Position } }, chen);
        Assert.Equal(ClaimStatus.Refuted, before.Status);
        Assert.Equal(view, before);
    }

    private static TakeStanceRequest Stance(string claimId, Contracts.V1.Stance stance, params ArticleSpan[] evidence)
    {
        var r = new TakeStanceRequest { RequestId = Guid.NewGuid().ToString(), ClaimId = claimId, Stance = stance, Rationale = "checked" };
        r.Evidence.AddRange(evidence);
        return r;
    }
}
