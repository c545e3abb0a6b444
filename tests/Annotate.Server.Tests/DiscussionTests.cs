using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>The Discussion service end to end: threads on claims and highlights, answers, edits kept in history, retraction,
/// and replies streamed live by WatchArticle.</summary>
public sealed class DiscussionTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "The harbour opened in 1901. Ships came. The mayor said it twice.";

    private GrpcChannel Ch => server.Channel;

    private async Task<string> ClaimAsync(string article, CallOptions who) =>
        (await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("The harbour opened in 1901.") }, who))
        .ClaimId;

    private async Task<Reply> ReplyAsync(ReplyTarget target, string body, CallOptions who, string parent = "") =>
        (await Ch.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = target, Body = body, ParentId = parent }, who)).Reply;

    private async Task<List<Reply>> ThreadAsync(ReplyTarget target, CallOptions who) =>
        [.. (await Ch.Discussion().ListThreadAsync(new ListThreadRequest { Target = target }, who)).Replies];

    [Fact]
    public async Task A_thread_on_a_claim_holds_replies_and_answers_in_order_with_edits_kept_and_retraction_marked()
    {
        var article = await server.ImportAsync(Text);
        var (ana, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (bob, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var onClaim = new ReplyTarget { ClaimId = await ClaimAsync(article, anaCall) };

        var question = await ReplyAsync(onClaim, "  Is 1901 the opening or the first ship?  ", anaCall);
        var answer = await ReplyAsync(onClaim, "The first ship, per the archive.", bobCall, question.ReplyId);
        var edit = await Ch.Discussion().EditReplyAsync(
            new EditReplyRequest { RequestId = Rid(), ReplyId = answer.ReplyId, Body = "The opening, per the archive." }, bobCall);
        await Ch.Discussion().RetractReplyAsync(new RetractReplyRequest { RequestId = Rid(), ReplyId = question.ReplyId }, anaCall);

        var thread = await ThreadAsync(onClaim, bobCall);
        Assert.Equal([question.ReplyId, answer.ReplyId], thread.Select(r => r.ReplyId));
        Assert.Equal((ana, true, "", ""), (thread[0].Author, thread[0].Retracted, thread[0].Body, thread[0].ParentId));
        Assert.Equal((bob, "The opening, per the archive.", question.ReplyId), (thread[1].Author, thread[1].Body, thread[1].ParentId));
        Assert.Equal(["The first ship, per the archive."], thread[1].Earlier.Select(e => e.Body));
        Assert.Equal(edit.Position, thread[1].LastPosition);
        Assert.Equal("Is 1901 the opening or the first ship?", question.Body);
        Assert.Equal(article, question.ArticleId);

        var history = await server.ReplayAsync(new ReplayRequest { Filter = new EventFilter { ArticleId = article } });
        Assert.Equal(["reply-posted.v1", "reply-posted.v1", "reply-edited.v1", "reply-retracted.v1"],
            history.Where(e => e.Type.StartsWith("reply-", StringComparison.Ordinal)).Select(e => e.Type));
    }

    [Fact]
    public async Task Only_the_author_edits_or_retracts_and_answers_stay_in_their_own_thread()
    {
        var article = await server.ImportAsync(Text);
        var (_, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (_, audCall) = await server.NewAnalystAsync("aud", Role.Auditor);
        var highlight = (await Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Ships came.") },
                anaCall)).Highlight.HighlightId;
        var onHighlight = new ReplyTarget { HighlightId = highlight };
        var onClaim = new ReplyTarget { ClaimId = await ClaimAsync(article, anaCall) };
        var mine = await ReplyAsync(onHighlight, "Which ships?", anaCall);

        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Discussion().EditReplyAsync(
            new EditReplyRequest { RequestId = Rid(), ReplyId = mine.ReplyId, Body = "hijacked" }, bobCall));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Discussion().RetractReplyAsync(
            new RetractReplyRequest { RequestId = Rid(), ReplyId = mine.ReplyId }, bobCall));
        var e = await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = onClaim, ParentId = mine.ReplyId, Body = "crossed" }, bobCall));
        Assert.Contains("another claim or highlight", e.Status.Detail);
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = onClaim, Body = "   " }, bobCall));
        await RefusedAsync(StatusCode.NotFound, () => Ch.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = new ReplyTarget { ClaimId = "c0123456789ab" }, Body = "x" }, bobCall));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Discussion().PostReplyAsync(
            new PostReplyRequest { RequestId = Rid(), Target = onClaim, Body = "auditors read" }, audCall));

        Assert.Equal([mine], await ThreadAsync(onHighlight, audCall));
        Assert.Empty(await ThreadAsync(onClaim, audCall));
    }

    [Fact]
    public async Task A_reply_thread_is_streamed_live_to_a_second_client_watching_the_article()
    {
        var article = await server.ImportAsync(Text);
        var (_, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var onClaim = new ReplyTarget { ClaimId = await ClaimAsync(article, anaCall) };
        using var cts = new CancellationTokenSource();
        using var second = GrpcChannel.ForAddress(server.Address);
        using var watch = second.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = article }, Streaming(bobCall, cts.Token));
        await ReadUntilAsync(watch.ResponseStream,
            seen => seen.Any(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition));

        var question = await ReplyAsync(onClaim, "Opening or first ship?", anaCall);
        var answer = await ReplyAsync(onClaim, "First ship.", bobCall, question.ReplyId);
        // A watcher gets each reply as it stands when its event is sent: changes that land before the watcher reaches an
        // event are sent once, in their latest form. So the edit comes after the answer has been seen.
        var seen = await ReadUntilAsync(watch.ResponseStream, s => s.Any(m => m.Reply?.ReplyId == answer.ReplyId));
        var edited = await Ch.Discussion().EditReplyAsync(
            new EditReplyRequest { RequestId = Rid(), ReplyId = answer.ReplyId, Body = "Opening." }, bobCall);

        seen.AddRange(await ReadUntilAsync(watch.ResponseStream, s => s.Any(m => m.Reply?.LastPosition == edited.Position)));
        var replies = seen.Where(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.Reply).Select(m => m.Reply).ToList();
        Assert.Equal([question, answer], replies.Take(2));
        Assert.Equal(("Opening.", question.ReplyId), (replies[2].Body, replies[2].ParentId));
        Assert.Equal(["First ship."], replies[2].Earlier.Select(e => e.Body));
        Assert.Equal(await ThreadAsync(onClaim, bobCall), [question, replies[2]]);
        await cts.CancelAsync();
    }
}
