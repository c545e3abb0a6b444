using Annotate.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>Authentication on every service: missing, bad, revoked and expired tokens; the actor comes from the token.</summary>
public sealed class AuthTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";

    private GrpcChannel Ch => server.Channel;

    /// <summary>One call of every service (streams read to their first message), with the given options.</summary>
    private IEnumerable<(string Name, Func<Task> Call)> OneCallPerService(CallOptions o) =>
    [
        ("Articles.ListArticles", () => Ch.Articles().ListArticlesAsync(new ListArticlesRequest(), o).ResponseAsync),
            (
                "Articles.ImportArticle",
                () =>
                    Ch.Articles()
                        .ImportArticleAsync(
                            new ImportArticleRequest
                            {
                                RequestId = Rid(),
                                ArticleId = "sneaky",
                                Title = "t",
                                Text = "t",
                            },
                            o)
                        .ResponseAsync),
            (
                "Annotations.ListHighlights",
                () => Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Seed }, o).ResponseAsync),
            (
                "Annotations.CreateHighlight",
                () =>
                    Ch.Annotations()
                        .CreateHighlightAsync(
                            new CreateHighlightRequest
                            {
                                RequestId = Rid(),
                                ArticleId = Seed,
                                Selector = At(0, 5),
                            },
                            o)
                        .ResponseAsync),
            (
                "Claims.OpenClaim",
                () =>
                    Ch.Claims()
                        .OpenClaimAsync(
                            new OpenClaimRequest
                            {
                                RequestId = Rid(),
                                ArticleId = Seed,
                                Selector = At(0, 5),
                            },
                            o)
                        .ResponseAsync),
        ("Consensus.ListClaims", () => Ch.Consensus().ListClaimsAsync(new ListClaimsRequest { ArticleId = Seed }, o).ResponseAsync),
        ("Consensus.WatchArticle", () => FirstAsync(Ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = Seed }, o))),
        ("History.Subscribe", () => FirstAsync(Ch.History().Subscribe(new SubscribeRequest(), o))),
        ("History.Replay", () => FirstAsync(Ch.History().Replay(new ReplayRequest { FromPosition = 1 }, o))),
        ("History.VerifyAudit", () => FirstAsync(Ch.History().VerifyAudit(new VerifyAuditRequest(), o))),
        ("Admin.WhoAmI", () => Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), o).ResponseAsync),
        ("Admin.ListAnalysts", () => Ch.Admin().ListAnalystsAsync(new ListAnalystsRequest(), o).ResponseAsync),
    ];

    private static async Task FirstAsync<T>(AsyncServerStreamingCall<T> call)
    {
        using (call) await call.ResponseStream.MoveNext(CancellationToken.None);
    }

    private static async Task AllRefusedAsync(IEnumerable<(string Name, Func<Task> Call)> calls)
    {
        foreach (var (name, call) in calls)
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.True(
                e.StatusCode == StatusCode.Unauthenticated,
                $"{name}: expected Unauthenticated, got {e.StatusCode}: {e.Status.Detail}");
        }
    }

    [Fact]
    public async Task A_call_without_a_token_is_unauthenticated_on_every_service()
    {
        await AllRefusedAsync(OneCallPerService(new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30))));
        await AllRefusedAsync(
            OneCallPerService(
                new CallOptions(new Metadata { { "authorization", "Basic YWRtaW46YWRtaW4=" } }, DateTime.UtcNow.AddSeconds(30))));
        await RefusedAsync(
            StatusCode.NotFound,
            () => Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = "sneaky" }, server.Admin));
    }

    [Fact]
    public async Task A_bad_token_is_unauthenticated_on_every_service()
    {
        var (id, _) = await server.NewAnalystAsync("real", Role.Admin);
        var issued = await Ch.Admin()
            .IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    Label = "x",
                },
                server.Admin);
        var tokenId = issued.Token.TokenId;

        foreach (
            var bad in new[]
            {
                "garbage",
                "tok.",
                ".secret",
                $"{tokenId}.wrong-secret",
                $"tokunknown.{issued.Secret.Split('.')[1]}",
                issued.Secret + "x",
            })
        {
            await AllRefusedAsync(OneCallPerService(AnnotateServer.As(bad)));
        }
        Assert.Equal(id, (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), AnnotateServer.As(issued.Secret))).AnalystId);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_at_once_on_every_service()
    {
        var (id, _) = await server.NewAnalystAsync("revoked", Role.Admin);
        var issued = await Ch.Admin()
            .IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    Label = "x",
                },
                server.Admin);
        var who = AnnotateServer.As(issued.Secret);
        await Ch.Articles().ListArticlesAsync(new ListArticlesRequest(), who);

        await Ch.Admin().RevokeTokenAsync(new RevokeTokenRequest { RequestId = Rid(), TokenId = issued.Token.TokenId }, server.Admin);

        await AllRefusedAsync(OneCallPerService(who));
    }

    [Fact]
    public async Task A_token_past_its_expiry_is_refused()
    {
        var (id, _) = await server.NewAnalystAsync("expiring", Role.Analyst);
        var expiry = DateTime.UtcNow.AddSeconds(8); // room for the issue and the first call on a busy machine
        var issued = await Ch.Admin()
            .IssueTokenAsync(
                new IssueTokenRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    Label = "short",
                    ExpiresAt = Timestamp.FromDateTime(expiry),
                },
                server.Admin);
        var who = AnnotateServer.As(issued.Secret);
        Assert.Equal(id, (await Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who)).AnalystId);

        // Expiry is a moment on the clock the server shares with us: wait for that moment (not for a guess), then
        // the very first call must be refused.
        var untilExpired = expiry.AddMilliseconds(50) - DateTime.UtcNow;
        if (untilExpired > TimeSpan.Zero) await Task.Delay(untilExpired);
        var refused = await Assert.ThrowsAsync<RpcException>(() => Ch.Admin().WhoAmIAsync(new WhoAmIRequest(), who).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("expired", refused.Status.Detail);
    }

    [Fact]
    public async Task The_actor_of_every_event_is_the_tokens_analyst()
    {
        var (id, who) = await server.NewAnalystAsync("actor", Role.Analyst);
        var highlight = new CreateHighlightRequest
        {
            RequestId = Rid(),
            ArticleId = Seed,
            Selector = Quote("Kazakhstan has a large Russian majority"),
            Tags = { "census" },
        };
        await Ch.Annotations().CreateHighlightAsync(highlight, who);

        var events = await server.EventsOfRequestAsync(highlight.RequestId);

        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(id, e.Actor));
        var list = await Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Seed }, who);
        Assert.Equal(id, list.Highlights.Single(h => h.Author == id).Author);
    }
}
