using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>ReviseArticle end to end: a real edit of seed 003 re-anchors each span where its text still is, orphans the one
/// whose text was removed, never moves one to a wrong passage; as-of reads show the old anchors; watchers see the change;
/// hostile revisions are refused before the log.</summary>
public sealed class ArticleRevisionTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";
    private const string Removed =
        "So begins another Russian Occupation: Transnistria (Moldova) since 1992; South Ossetia (Georgia) since 2008; Abkhazia " +
        "(Georgia) since 2008; Crimea (Ukraine) since 2014; Donbas (Ukraine) since 2014 and now Kazakhstan since 2022. ";
    private const string MovedStart = "However, with Russia’s armed forces heavily engaged";
    private const string MovedEnd = "getting sucked into Kazakhstan’s domestic disputes. ";

    private GrpcChannel Ch => server.Channel;

    /// <summary>Seed 003 as corrected: hard line wraps joined, one sentence reworded, one paragraph removed, one moved to the
    /// end.</summary>
    private static string Corrected(string original)
    {
        var joined = original.Replace("\n", " ", StringComparison.Ordinal);
        joined = joined.Replace("at 32%, a record low.", "at 31%, the lowest on record.", StringComparison.Ordinal);
        Assert.Contains(Removed, joined);
        joined = joined.Replace(Removed, "", StringComparison.Ordinal);
        var from = joined.IndexOf(MovedStart, StringComparison.Ordinal);
        var to = joined.IndexOf(MovedEnd, StringComparison.Ordinal) + MovedEnd.Length;
        var moved = joined[from..to];
        return joined.Remove(from, to - from).TrimEnd() + " " + moved.TrimEnd();
    }

    [Fact]
    public async Task A_revision_of_a_seed_article_moves_each_span_to_its_text_and_orphans_the_removed_one()
    {
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var original = (await Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = Seed }, ana)).Text;

        async Task<Highlight> HighlightAsync(Selector selector) =>
            (await Ch.Annotations().CreateHighlightAsync(
                new CreateHighlightRequest { RequestId = Rid(), ArticleId = Seed, Selector = selector }, ana)).Highlight;
        async Task<OpenClaimResponse> ClaimAsync(Selector selector) =>
            await Ch.Claims().OpenClaimAsync(
                new OpenClaimRequest { RequestId = Rid(), ArticleId = Seed, Selector = selector, Statement = "Checkable." }, ana);

        var intro = await HighlightAsync(Quote("“For now, this is less an armed intervention than a police\noperation,”"));
        var gone = await HighlightAsync(Quote("South Ossetia (Georgia) since\n2008"));
        var after = await HighlightAsync(Quote("I feel sorry for the Kazakh\npeople"));
        // The same words stand in the first paragraph too: the prefix chooses the moved paragraph's.
        var fronts = await ClaimAsync(Quote("manage strategic instability on\ntwo fronts", prefix: "divide [its] attention … and "));
        var poll = await ClaimAsync(Quote(
            "A recent Levada Center poll showed Russian President Vladimir Putin’s\nelectoral rating — the number of Russians ready " +
            "to vote for his re-election —\nat 32%, a record low."));
        // A stance on the poll claim cites a sentence that stays and one in the removed paragraph.
        const string kept = "I feel sorry for the Kazakh people";
        var stance = await Ch.Claims().TakeStanceAsync(new TakeStanceRequest
        {
            RequestId = Rid(),
            ClaimId = poll.ClaimId,
            Stance = Stance.Supports,
            Evidence =
            {
                new ArticleSpan { ArticleId = Seed, Selector = Quote("I feel sorry for the Kazakh\npeople") },
                new ArticleSpan { ArticleId = Seed, Selector = Quote("Crimea (Ukraine) since 2014") },
            },
        }, ana);
        var cited = (await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = poll.ClaimId }, ana)).Evidence;
        Assert.All(cited, e => Assert.Equal((AnchorStatus.Anchored, 1u), (e.Anchor.Status, e.Anchor.Revision)));
        var before = Math.Max(after.Position, stance.Position);

        using var stop = new CancellationTokenSource();
        using var watch = Ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = Seed }, Streaming(server.Admin, stop.Token));
        await ReadUntilAsync(watch.ResponseStream, s => s.Any(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition));

        var text = Corrected(original);
        var revised = await Ch.Articles().ReviseArticleAsync(
            new ReviseArticleRequest { RequestId = Rid(), ArticleId = Seed, Text = text, Reason = "Wraps joined; poll figure corrected." },
            server.Admin);

        Assert.Equal(2u, revised.Article.Revision);
        Assert.Equal("Wraps joined; poll figure corrected.", revised.Article.RevisionReason);
        var article = await Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = Seed }, ana);
        Assert.Equal((text, 2u, "admin"), (article.Text, article.Revision, article.RevisedBy));

        var outcomes = revised.Spans.ToDictionary(s => s.TargetId);
        Assert.Equal(5, outcomes.Count);
        void Moved(string id, string exact, ReanchorMethod method, int occurrence = 1)
        {
            var o = outcomes[id];
            Assert.True(o.Anchor.Status == AnchorStatus.Reanchored, $"{id}: {o.Anchor}");
            Assert.Equal((2u, method), (o.Anchor.Revision, o.Anchor.Method));
            var start = CodePoint(text, exact, occurrence);
            Assert.Equal(((uint)start, (uint)(start + CountCodePoints(exact)), exact),
                (o.Selector.Position.Start, o.Selector.Position.End, o.Selector.Quote.Exact));
        }
        Moved(intro.HighlightId, "“For now, this is less an armed intervention than a police operation,”", ReanchorMethod.Quote);
        Moved(after.HighlightId, "I feel sorry for the Kazakh people", ReanchorMethod.Quote);
        // Second occurrence: the paragraph now comes after the first paragraph's "manage strategic instability on two fronts".
        Moved(fronts.ClaimId, "manage strategic instability on two fronts", ReanchorMethod.Quote, occurrence: 2);
        Assert.True(CodePoint(text, MovedStart) < outcomes[fronts.ClaimId].Selector.Position.Start);
        Moved(poll.ClaimId,
            "A recent Levada Center poll showed Russian President Vladimir Putin’s electoral rating — the number of Russians ready to " +
            "vote for his re-election — at 31%, the lowest on record.", ReanchorMethod.Fuzzy);
        Assert.InRange(outcomes[poll.ClaimId].Anchor.Score, 0.6, 0.99);

        var orphan = outcomes[gone.HighlightId];
        Assert.Equal((AnchorStatus.Orphaned, 1u, 2u), (orphan.Anchor.Status, orphan.Anchor.Revision, orphan.Anchor.OrphanedOnRevision));
        Assert.Contains("no longer occurs", orphan.Anchor.Reason);
        Assert.Null(orphan.Selector);

        // Reads show the same; the orphan keeps its span on revision 1, flagged for review.
        var now = (await Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Seed }, ana)).Highlights
            .ToDictionary(h => h.HighlightId);
        Assert.Equal(outcomes[intro.HighlightId].Selector, now[intro.HighlightId].Selector);
        Assert.Equal((AnchorStatus.Orphaned, 1u), (now[gone.HighlightId].Anchor.Status, now[gone.HighlightId].Anchor.Revision));
        Assert.Equal(gone.Selector, now[gone.HighlightId].Selector);
        var claim = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = poll.ClaimId }, ana);
        Assert.Equal((outcomes[poll.ClaimId].Selector, 2u), (claim.Selector, claim.Anchor.Revision));

        // The evidence follows the sentence that stayed; the one in the removed paragraph is orphaned, keeping its old span.
        var evidence = claim.Evidence.ToDictionary(e => e.Span.Selector.Quote.Exact);
        var movedEvidence = evidence[kept];
        Assert.Equal((AnchorStatus.Reanchored, 2u), (movedEvidence.Anchor.Status, movedEvidence.Anchor.Revision));
        Assert.Equal((uint)CodePoint(text, kept), movedEvidence.Span.Selector.Position.Start);
        var lostEvidence = evidence["Crimea (Ukraine) since 2014"];
        Assert.Equal((AnchorStatus.Orphaned, 1u, 2u),
            (lostEvidence.Anchor.Status, lostEvidence.Anchor.Revision, lostEvidence.Anchor.OrphanedOnRevision));
        Assert.Equal(cited.Single(e => e.Span.Selector.Quote.Exact.StartsWith("Crimea", StringComparison.Ordinal)).Span, lostEvidence.Span);

        // As of before the revision: the old spans, on revision 1.
        var asOf = new AsOf { Position = before };
        var then = (await Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Seed, AsOf = asOf }, ana)).Highlights
            .ToDictionary(h => h.HighlightId);
        Assert.Equal(intro.Selector, then[intro.HighlightId].Selector);
        Assert.All(then.Values, h => Assert.Equal((AnchorStatus.Anchored, 1u), (h.Anchor.Status, h.Anchor.Revision)));
        var claimThen = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = poll.ClaimId, AsOf = asOf }, ana);
        Assert.Equal((poll.Selector, 1u), (claimThen.Selector, claimThen.Anchor.Revision));
        Assert.Equal(cited, claimThen.Evidence);
        var listedThen = await Ch.Consensus().ListClaimsAsync(new ListClaimsRequest { ArticleId = Seed, AsOf = asOf }, ana);
        Assert.Equal(fronts.Selector, listedThen.Claims.Single(c => c.ClaimId == fronts.ClaimId).Selector);

        // The watcher sees the revision, then both claims on their new spans.
        var seen = await ReadUntilAsync(watch.ResponseStream, s =>
            s.Any(m => m.Revised is { Revision: 2 })
            && s.Count(m => m.View is { } v && (v.ClaimId == poll.ClaimId || v.ClaimId == fronts.ClaimId) && v.Anchor.Revision == 2) == 2);
        Assert.Equal("Wraps joined; poll figure corrected.", seen.First(m => m.Revised is not null).Revised.RevisionReason);
        await stop.CancelAsync();

        // Made after the revision: on revision 2, in the stored views and in a view folded as of now.
        var late = await HighlightAsync(Quote("Tokayev's plea for help"));
        var lateClaim = await ClaimAsync(Quote("Putin will hardly be inclined to leave his position to a successor."));
        Assert.Equal((AnchorStatus.Anchored, 2u), (late.Anchor.Status, late.Anchor.Revision));
        var lateView = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = lateClaim.ClaimId }, ana);
        Assert.Equal(2u, lateView.Anchor.Revision);
        var folded = await Ch.Consensus().GetClaimViewAsync(
            new GetClaimViewRequest { ClaimId = lateClaim.ClaimId, AsOf = new AsOf { Position = lateClaim.Result.Position } }, ana);
        Assert.Equal(lateView.Anchor, folded.Anchor);
        var lateThen = await Ch.Annotations().ListHighlightsAsync(
            new ListHighlightsRequest { ArticleId = Seed, AsOf = new AsOf { Position = late.Position } }, ana);
        Assert.Equal(late.Anchor, lateThen.Highlights.Single(h => h.HighlightId == late.HighlightId).Anchor);

        // A revision again: placed spans stay put at full score; the orphan is not tried again.
        var again = await Ch.Articles().ReviseArticleAsync(
            new ReviseArticleRequest { RequestId = Rid(), ArticleId = Seed, Text = text + " Updated.", Reason = "" }, server.Admin);
        Assert.Equal(3u, again.Article.Revision);
        Assert.Equal(6, again.Spans.Count);
        Assert.All(
            again.Spans,
            s => Assert.Equal((ReanchorMethod.Position, 1.0, 3u), (s.Anchor.Method, s.Anchor.Score, s.Anchor.Revision)));
        Assert.DoesNotContain(again.Spans, s => s.TargetId == gone.HighlightId);
    }

    [Fact]
    public async Task The_current_text_again_changes_nothing_and_a_retried_request_answers_the_original()
    {
        var id = await server.ImportAsync("First version of the text.");
        var request = new ReviseArticleRequest { RequestId = Rid(), ArticleId = id, Text = "Second version of the text.", Reason = "typo" };

        var first = await Ch.Articles().ReviseArticleAsync(request, server.Admin);
        var retried = await Ch.Articles().ReviseArticleAsync(request, server.Admin);
        var repeat = request.Clone();
        repeat.RequestId = Rid();
        var same = await Ch.Articles().ReviseArticleAsync(repeat, server.Admin);

        Assert.Equal(2u, first.Article.Revision);
        Assert.True(retried.Result.Deduplicated);
        Assert.Equal(first.Result.Position, retried.Result.Position);
        Assert.True(same.Result.Deduplicated);
        Assert.Equal(2u, same.Article.Revision);
        Assert.Empty(same.Spans);
    }

    [Fact]
    public async Task After_a_revision_opening_a_claim_finds_the_existing_one_where_its_text_now_is_and_not_at_its_old_place()
    {
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var id = await server.ImportAsync("The dam holds forty million cubic metres. The valley below floods each spring.");
        async Task<OpenClaimResponse> OpenAsync(Selector selector) => await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = id, Selector = selector, Statement = "Checkable." }, ana);
        var dam = await OpenAsync(Quote("The dam holds forty million cubic metres."));
        const string lead = "Officials revised the figures twice this year. ";
        await Ch.Articles().ReviseArticleAsync(new ReviseArticleRequest
        {
            RequestId = Rid(),
            ArticleId = id,
            Reason = "",
            Text = lead + "The dam holds forty million cubic metres. The valley below floods each spring.",
        }, server.Admin);

        var again = await OpenAsync(Quote("The dam holds forty million cubic metres."));
        var oldPlace = await OpenAsync(At((int)dam.Selector.Position.Start, (int)dam.Selector.Position.End));

        Assert.Equal((dam.ClaimId, true), (again.ClaimId, again.Existing));
        Assert.Equal((uint)(dam.Selector.Position.Start + lead.Length), again.Selector.Position.Start);
        Assert.NotEqual(dam.ClaimId, oldPlace.ClaimId);
        Assert.False(oldPlace.Existing);
    }

    [Fact]
    public async Task Search_finds_an_article_by_the_words_of_its_current_revision_only()
    {
        var id = await server.ImportAsync("The quarry closed in spring.");
        await Ch.Articles().ReviseArticleAsync(
            new ReviseArticleRequest { RequestId = Rid(), ArticleId = id, Text = "The quarry reopened in autumn.", Reason = "" },
            server.Admin);

        var found = await Ch.Search().SearchAsync(new SearchRequest { Query = "autumn", ArticleId = id }, server.Admin);
        var stale = await Ch.Search().SearchAsync(new SearchRequest { Query = "spring", ArticleId = id }, server.Admin);

        Assert.Contains(found.Hits, h => h.Kind == SearchHitKind.Article);
        Assert.Empty(stale.Hits);
    }

    [Fact]
    public async Task Hostile_or_unauthorised_revisions_are_refused_and_reach_no_log()
    {
        const string original = "A short article that must stay as it is.";
        var id = await server.ImportAsync(original);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        ReviseArticleRequest Revise(string text, string article = "", string? rid = null) =>
            new() { RequestId = rid ?? Rid(), ArticleId = article == "" ? id : article, Text = text };

        var empty = await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Articles().ReviseArticleAsync(Revise(""), server.Admin));
        Assert.Contains("empty", empty.Status.Detail);
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Articles().ReviseArticleAsync(Revise(" \n\t "), server.Admin));
        var large = await RefusedAsync(StatusCode.InvalidArgument,
            () => Ch.Articles().ReviseArticleAsync(Revise(new string('a', 2_000_001)), server.Admin));
        Assert.Contains("text", large.Status.Detail);
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Articles().ReviseArticleAsync(Revise("Nul \0 inside."), server.Admin));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Articles().ReviseArticleAsync(Revise("Fine.", rid: ""), server.Admin));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Articles().ReviseArticleAsync(Revise("By an analyst."), ana));
        await RefusedAsync(
            StatusCode.NotFound,
            () => Ch.Articles().ReviseArticleAsync(Revise("Elsewhere.", "no-such-article"), server.Admin));

        var article = await Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = id }, ana);
        Assert.Equal((original, 1u), (article.Text, article.Revision));
        var events = await server.ReplayAsync(new ReplayRequest { Filter = new EventFilter { ArticleId = id } });
        Assert.Equal(["article-imported.v1"], events.Select(e => e.Type));
    }

    [Fact]
    public async Task An_orphan_is_reattached_by_its_author_a_moved_claim_confirmed_by_an_adjudicator_and_hostile_requests_write_nothing()
    {
        var (anaId, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bob) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (judgeId, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var id = await server.ImportAsync(
            "The mill opened in 1901. It employed four hundred people. The river powered it for a century, until the dam.");
        var gone = (await Ch.Annotations().CreateHighlightAsync(new CreateHighlightRequest
        {
            RequestId = Rid(),
            ArticleId = id,
            Selector = Quote("It employed four hundred people."),
        }, ana)).Highlight;
        var claim = await Ch.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Rid(),
            ArticleId = id,
            Selector = Quote("The river powered it"),
            Statement = "Checkable.",
        }, ana);
        var text = "Records differ on the date. The mill opened in 1901. The river powered it for a century, until the dam.";
        await Ch.Articles().ReviseArticleAsync(new ReviseArticleRequest { RequestId = Rid(), ArticleId = id, Text = text, Reason = "" },
            server.Admin);
        var fresh = (await Ch.Annotations().CreateHighlightAsync(new CreateHighlightRequest
        {
            RequestId = Rid(),
            ArticleId = id,
            Selector = Quote("Records differ"),
        }, ana)).Highlight;

        using var stop = new CancellationTokenSource();
        using var watch = Ch.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = id }, Streaming(judge, stop.Token));
        await ReadUntilAsync(watch.ResponseStream, s => s.Any(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition));

        ReattachSpanRequest Highlight(string highlightId, Selector? selector = null) =>
            new() { RequestId = Rid(), Target = new TagTarget { HighlightId = highlightId }, Selector = selector };
        ReattachSpanRequest Claim(Selector? selector = null) =>
            new() { RequestId = Rid(), Target = new TagTarget { ClaimId = claim.ClaimId }, Selector = selector };
        Selector Disagreeing() =>
            new() { Position = new TextPosition { Start = 0, End = 7 }, Quote = new TextQuote { Exact = "The mill" } };
        var head = (await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin)).Position;
        await RefusedAsync(StatusCode.NotFound, () => Ch.Annotations().ReattachSpanAsync(Highlight("hnosuchhighlight"), ana));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().ReattachSpanAsync(
            new ReattachSpanRequest { RequestId = Rid() }, ana));
        var bare = await RefusedAsync(
            StatusCode.InvalidArgument, () => Ch.Annotations().ReattachSpanAsync(Highlight(gone.HighlightId), ana));
        Assert.Contains("orphaned", bare.Status.Detail);
        await RefusedAsync(StatusCode.InvalidArgument,
            () => Ch.Annotations().ReattachSpanAsync(Highlight(gone.HighlightId, Quote("four hundred people")), ana));
        await RefusedAsync(StatusCode.InvalidArgument,
            () => Ch.Annotations().ReattachSpanAsync(Highlight(gone.HighlightId, At(70, 500)), ana));
        await RefusedAsync(StatusCode.InvalidArgument,
            () => Ch.Annotations().ReattachSpanAsync(Highlight(gone.HighlightId, Disagreeing()), ana));
        await RefusedAsync(StatusCode.PermissionDenied,
            () => Ch.Annotations().ReattachSpanAsync(Highlight(gone.HighlightId, Quote("The mill opened in 1901.")), bob));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Annotations().ReattachSpanAsync(Claim(), bob));
        await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Annotations().ReattachSpanAsync(Highlight(fresh.HighlightId), ana));
        Assert.Equal(head, (await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin)).Position);

        var moved = await Ch.Annotations().ReattachSpanAsync(Highlight(gone.HighlightId, Quote("The mill opened in 1901.")), ana);
        Assert.Equal((AnchorStatus.Reattached, 2u, anaId), (moved.Anchor.Status, moved.Anchor.Revision, moved.Anchor.ReattachedBy));
        Assert.Equal(((uint)CodePoint(text, "The mill"), "The mill opened in 1901."),
            (moved.Selector.Position.Start, moved.Selector.Quote.Exact));
        var listed = (await Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = id }, bob)).Highlights
            .Single(h => h.HighlightId == gone.HighlightId);
        Assert.Equal((moved.Selector, moved.Anchor), (listed.Selector, listed.Anchor));
        await RefusedAsync(StatusCode.FailedPrecondition,
            () => Ch.Annotations().ReattachSpanAsync(Highlight(gone.HighlightId, Quote("The mill opened in 1901.")), ana));

        var confirmed = await Ch.Annotations().ReattachSpanAsync(Claim(), judge);
        Assert.Equal((AnchorStatus.Reattached, 2u, judgeId),
            (confirmed.Anchor.Status, confirmed.Anchor.Revision, confirmed.Anchor.ReattachedBy));
        Assert.Equal((uint)CodePoint(text, "The river powered it"), confirmed.Selector.Position.Start);
        var view = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim.ClaimId }, bob);
        Assert.Equal((confirmed.Selector, confirmed.Anchor), (view.Selector, view.Anchor));
        Assert.Equal(1, view.Version);
        var seen = await ReadUntilAsync(watch.ResponseStream,
            s => s.Any(m => m.View is { } v && v.ClaimId == claim.ClaimId && v.Anchor.Status == AnchorStatus.Reattached));
        Assert.Equal(judgeId, seen.Last(m => m.View is not null).View.Anchor.ReattachedBy);
        await stop.CancelAsync();

        // As of before the review: the orphan as the revision left it.
        var then = await Ch.Annotations().ListHighlightsAsync(
            new ListHighlightsRequest { ArticleId = id, AsOf = new AsOf { Position = head } }, ana);
        Assert.Equal(AnchorStatus.Orphaned, then.Highlights.Single(h => h.HighlightId == gone.HighlightId).Anchor.Status);
    }

    [Fact]
    public async Task A_span_resolved_against_the_text_before_a_revision_is_refused_and_nothing_is_written()
    {
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        const string before = "The bridge opened in 1932. Tolls ended in 1990.";
        var id = await server.ImportAsync(before);
        var read = await Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = id }, ana);
        var tolls = At(CodePoint(before, "Tolls"), CodePoint(before, "Tolls") + "Tolls ended in 1990.".Length);
        await Ch.Articles().ReviseArticleAsync(new ReviseArticleRequest
        {
            RequestId = Rid(),
            ArticleId = id,
            Text = "A correction. The bridge opened in 1932. Tolls ended in 1991.",
            Reason = "",
        }, server.Admin);
        var bridge = await Ch.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Rid(),
            ArticleId = id,
            Selector = Quote("The bridge opened in 1932."),
            Statement = "Checkable.",
            Revision = 2,
        }, ana);
        var head = (await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin)).Position;

        var highlight = await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = id, Selector = tolls, Revision = read.Revision }, ana));
        Assert.Contains("the article was revised; resolve the span again", highlight.Status.Detail, StringComparison.OrdinalIgnoreCase);
        await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = id, Selector = tolls, Statement = "x", Revision = read.Revision }, ana));
        await RefusedAsync(StatusCode.FailedPrecondition, () => Ch.Claims().TakeStanceAsync(new TakeStanceRequest
        {
            RequestId = Rid(),
            ClaimId = bridge.ClaimId,
            Stance = Stance.Refutes,
            Evidence = { new ArticleSpan { ArticleId = id, Selector = tolls, Revision = read.Revision } },
        }, ana));
        Assert.Equal(head, (await Ch.Audit().GetChainHeadAsync(new GetChainHeadRequest(), server.Admin)).Position);

        // Resolved again against revision 2, the same words are placed where they now are.
        var again = await Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = id, Selector = Quote("Tolls ended in 1991."), Revision = 2 }, ana);
        Assert.Equal((AnchorStatus.Anchored, 2u), (again.Highlight.Anchor.Status, again.Highlight.Anchor.Revision));
    }
}
