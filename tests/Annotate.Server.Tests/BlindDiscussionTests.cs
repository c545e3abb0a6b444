using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>Replies and tags on a blind claim are opinions too: analyst B sees none of A's through any read until B takes a
/// stance; B's own stay visible to B.</summary>
public sealed class BlindDiscussionTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "The harbour opened in 1901. Ships came. The bridge fell in 1950.";
    private const string Secret = "zanzibarite";

    private GrpcChannel Ch => server.Channel;

    private Task<PostReplyResponse> ReplyAsync(ReplyTarget target, string body, CallOptions who) =>
        Ch.Discussion().PostReplyAsync(new PostReplyRequest { RequestId = Rid(), Target = target, Body = body }, who).ResponseAsync;

    [Fact]
    public async Task Others_replies_and_tags_on_a_blind_claim_reach_analyst_B_through_no_read_until_B_takes_a_stance()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (bob, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = (await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("The harbour opened in 1901.") }, ana)).ClaimId;
        await Ch.Claims().MakeBlindAsync(new MakeBlindRequest { RequestId = Rid(), ClaimId = claim }, judge);
        var onClaim = new ReplyTarget { ClaimId = claim };
        await Ch.Claims().TakeStanceAsync(new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = Stance.Refutes }, ana);
        await ReplyAsync(onClaim, $"The {Secret} ledger says otherwise.", ana);
        await Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { ClaimId = claim }, Tag = "false" }, ana);
        var bobsReply = await ReplyAsync(onClaim, "Which ledger?", bobCall);
        await Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { ClaimId = claim }, Tag = "dates" }, bobCall);

        using var stop = new CancellationTokenSource();
        using var watch = Ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = article }, Streaming(bobCall, stop.Token));
        await ReadUntilAsync(watch.ResponseStream, s => s.Any(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition));

        // View: only bob's own tag.
        var view = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, bobCall);
        Assert.True(view.Hidden);
        Assert.Equal(["dates"], view.Tags.Select(t => t.Tag));
        Assert.Equal([bob], view.Tags.Single().Analysts);
        // Thread: only bob's own reply.
        var thread = await Ch.Discussion().ListThreadAsync(new ListThreadRequest { Target = onClaim }, bobCall);
        Assert.True(thread.Hidden);
        Assert.Equal([bobsReply.Reply.ReplyId], thread.Replies.Select(r => r.ReplyId));
        // Search: neither the reply's words nor the tag find it.
        Assert.Empty((await Ch.Search().SearchAsync(new SearchRequest { Query = Secret }, bobCall)).Hits);
        Assert.Empty((await Ch.Search().SearchAsync(new SearchRequest { Query = "harbour", Tag = "false" }, bobCall)).Hits);
        Assert.NotEmpty((await Ch.Search().SearchAsync(new SearchRequest { Query = Secret }, judge)).Hits);
        // Subscribe: no reply or tag event of ana's on the claim.
        using (var cts = new CancellationTokenSource())
        {
            using var call = Ch.History().Subscribe(
                new SubscribeRequest { Filter = new EventFilter { ArticleId = article } }, Streaming(bobCall, cts.Token));
            var seen = await ReadUntilAsync(
                call.ResponseStream, s => s.Any(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition));
            var events = seen.Where(m => m.Event is not null).Select(m => m.Event).ToList();
            Assert.DoesNotContain(
                events,
                e => e.DataJson.Contains(Secret, StringComparison.Ordinal)
                    || e.DataJson.Contains("\"false\"", StringComparison.Ordinal));
            Assert.Contains(events, e => e.DataJson.Contains("Which ledger?", StringComparison.Ordinal));
            await cts.CancelAsync();
        }
        // Watch: ana's new reply on the claim is not sent; her reply on a highlight after it is.
        var highlight = (await Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Ships came.") }, ana)).Highlight;
        await ReplyAsync(onClaim, $"More on {Secret}.", ana);
        var visible = await ReplyAsync(new ReplyTarget { HighlightId = highlight.HighlightId }, "Ships from where?", ana);
        var watched = await ReadUntilAsync(watch.ResponseStream, s => s.Any(m => m.Reply?.ReplyId == visible.Reply.ReplyId));
        Assert.DoesNotContain(watched, m => m.Reply is { } r && r.Body.Contains(Secret, StringComparison.Ordinal));
        await stop.CancelAsync();

        // After bob's own stance: everything.
        await Ch.Claims().TakeStanceAsync(new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = Stance.Supports }, bobCall);
        var after = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, bobCall);
        Assert.Equal(["dates", "false"], after.Tags.Select(t => t.Tag).Order());
        var full = await Ch.Discussion().ListThreadAsync(new ListThreadRequest { Target = onClaim }, bobCall);
        Assert.False(full.Hidden);
        Assert.Equal(3, full.Replies.Count);
        Assert.NotEmpty((await Ch.Search().SearchAsync(new SearchRequest { Query = Secret }, bobCall)).Hits);
    }
}
