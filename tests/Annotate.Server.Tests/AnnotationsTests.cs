using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>The Annotations service end to end: highlights, anchoring, tags, retraction and as-of listings.</summary>
public sealed class AnnotationsTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text =
        "The harbour opened in 1901. Ships came. “Very concerned,” said the mayor — twice.\n" +
        "The harbour opened in 1901 again. 😀 End of story.";

    private GrpcChannel Ch => server.Channel;

    private Task<CreateHighlightResponse> HighlightAsync(
        string article, Selector selector, CallOptions who, string note = "", params string[] tags)
    {
        var request = new CreateHighlightRequest { RequestId = Rid(), ArticleId = article, Selector = selector, Note = note };
        request.Tags.AddRange(tags);
        return Ch.Annotations().CreateHighlightAsync(request, who).ResponseAsync;
    }

    private Task<ListHighlightsResponse> ListAsync(string article, CallOptions who, AsOf? asOf = null) =>
        Ch.Annotations().ListHighlightsAsync(new ListHighlightsRequest { ArticleId = article, AsOf = asOf }, who).ResponseAsync;

    [Fact]
    public async Task A_highlight_by_quote_is_stored_with_both_position_and_quote_its_note_and_normalised_tags()
    {
        var article = await server.ImportAsync(Text);
        var (analyst, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        var created = await HighlightAsync(article, Quote("Ships came."), who, "worth checking", "  Needs Source ", "port");

        var h = created.Highlight;
        Assert.Equal((uint)CodePoint(Text, "Ships came."), h.Selector.Position.Start);
        Assert.Equal(h.Selector.Position.Start + 11, h.Selector.Position.End);
        Assert.Equal("Ships came.", h.Selector.Quote.Exact);
        Assert.EndsWith("1901. ", h.Selector.Quote.Prefix);
        Assert.StartsWith(" “Very", h.Selector.Quote.Suffix);
        Assert.Equal("worth checking", h.Note);
        Assert.Equal(analyst, h.Author);
        Assert.Equal(["needs-source", "port"], h.Tags.Select(t => t.Tag).Order());
        Assert.All(h.Tags, t => Assert.Equal([analyst], t.Analysts));
        Assert.Equal(created.Result.Position - 2, h.Position); // the result names the last event written: the second tag

        var listed = Assert.Single((await ListAsync(article, who)).Highlights);
        Assert.Equal(h, listed);
    }

    [Fact]
    public async Task A_highlight_by_position_counts_code_points_and_answers_the_quote()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var start = CodePoint(Text, "End of story");
        Assert.NotEqual(start, Text.IndexOf("End of story", StringComparison.Ordinal)); // the emoji before it is two UTF-16 units

        var created = await HighlightAsync(article, At(start, start + 12), who);

        Assert.Equal("End of story", created.Highlight.Selector.Quote.Exact);
    }

    [Fact]
    public async Task A_quote_matches_across_line_breaks_runs_of_spaces_straight_quotes_and_hyphens()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        var created = await HighlightAsync(article, Quote("\"Very concerned,\"  said the mayor - twice. The harbour"), who);

        Assert.Equal((uint)CodePoint(Text, "“Very"), created.Highlight.Selector.Position.Start);
        Assert.Equal("“Very concerned,” said the mayor — twice.\nThe harbour", created.Highlight.Selector.Quote.Exact);
    }

    [Fact]
    public async Task An_ambiguous_quote_is_refused_saying_where_it_matched_and_a_prefix_chooses_one()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        var e = await RefusedAsync(StatusCode.InvalidArgument, () => HighlightAsync(article, Quote("The harbour opened in 1901"), who));

        Assert.Contains("2 places", e.Status.Detail);
        Assert.Contains($"{CodePoint(Text, "The harbour", 1)}, {CodePoint(Text, "The harbour", 2)}", e.Status.Detail);
        Assert.Contains("prefix", e.Status.Detail);

        var chosen = await HighlightAsync(article, Quote("The harbour opened in 1901", prefix: "twice."), who);
        Assert.Equal((uint)CodePoint(Text, "The harbour", 2), chosen.Highlight.Selector.Position.Start);
    }

    [Theory]
    [InlineData(5, 5, "empty")]
    [InlineData(9, 4, "reversed")]
    [InlineData(10, 100000, "out of range")]
    public async Task A_span_that_is_empty_reversed_or_out_of_range_is_invalid(int start, int end, string said)
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        var e = await RefusedAsync(StatusCode.InvalidArgument, () => HighlightAsync(article, At(start, end), who));

        Assert.Contains(said, e.Status.Detail);
        Assert.Empty((await ListAsync(article, who)).Highlights);
    }

    [Fact]
    public async Task A_position_and_a_quote_that_disagree_are_refused()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var start = CodePoint(Text, "Ships");

        var e = await RefusedAsync(StatusCode.InvalidArgument, () => HighlightAsync(article,
            new Selector
            {
                Position = new TextPosition { Start = (uint)start, End = (uint)start + 5 },
                Quote = new TextQuote { Exact = "mayor" }
            }, who));

        Assert.Contains("Ships", e.Status.Detail);
        Assert.Contains("mayor", e.Status.Detail);
    }

    [Fact]
    public async Task A_selector_with_neither_position_nor_quote_is_invalid()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        await RefusedAsync(StatusCode.InvalidArgument, () => HighlightAsync(article, new Selector(), who));
    }

    [Fact]
    public async Task A_quote_that_does_not_occur_is_invalid()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        var e = await RefusedAsync(StatusCode.InvalidArgument, () => HighlightAsync(article, Quote("the harbour closed"), who));
        Assert.Contains("does not occur", e.Status.Detail);
    }

    [Fact]
    public async Task A_highlight_on_an_unknown_article_is_not_found()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        await RefusedAsync(StatusCode.NotFound, () => HighlightAsync("no-such-article", At(0, 3), who));
        await RefusedAsync(StatusCode.NotFound, () => ListAsync("no-such-article", who));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("needs/source")]
    [InlineData("über")]
    [InlineData("a-tag-name-that-goes-on-and-on-well-past-the-sixty-four-characters-allowed")]
    public async Task A_bad_tag_name_is_invalid_on_highlights_and_claims(string tag)
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var highlight = (await HighlightAsync(article, Quote("Ships came."), who)).Highlight.HighlightId;
        var claim = (await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Ships came.") }, who)).ClaimId;

        await RefusedAsync(StatusCode.InvalidArgument, () => HighlightAsync(article, Quote("the mayor"), who, "", tag));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { HighlightId = highlight }, Tag = tag }, who));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { ClaimId = claim }, Tag = tag }, who));
        Assert.Single((await ListAsync(article, who)).Highlights);
    }

    [Fact]
    public async Task Tags_applied_and_removed_by_two_analysts_show_who_applies_each_on_highlights_and_claims()
    {
        var article = await server.ImportAsync(Text);
        var (a, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (b, bob) = await server.NewAnalystAsync("bob", Role.Analyst);
        var highlight = (await HighlightAsync(article, Quote("Ships came."), ana)).Highlight.HighlightId;
        var claim = (await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Ships came.") }, ana)).ClaimId;

        foreach (var target in new[] { new TagTarget { HighlightId = highlight }, new TagTarget { ClaimId = claim } })
        {
            await Ch.Annotations().ApplyTagAsync(new ApplyTagRequest { RequestId = Rid(), Target = target, Tag = "Needs Source" }, ana);
            await Ch.Annotations().ApplyTagAsync(new ApplyTagRequest { RequestId = Rid(), Target = target, Tag = "needs-source" }, bob);
            await Ch.Annotations().ApplyTagAsync(new ApplyTagRequest { RequestId = Rid(), Target = target, Tag = "dates" }, bob);
            var removed = await Ch.Annotations().RemoveTagAsync(
                new RemoveTagRequest { RequestId = Rid(), Target = target, Tag = "NEEDS SOURCE" }, ana);
            Assert.False(removed.Deduplicated);
        }

        var h = Assert.Single((await ListAsync(article, ana)).Highlights);
        Assert.Equal(["dates", "needs-source"], h.Tags.Select(t => t.Tag));
        Assert.All(h.Tags, t => Assert.Equal([b], t.Analysts));
        var view = await Ch.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, ana);
        Assert.Equal(["dates", "needs-source"], view.Tags.Select(t => t.Tag).Order());
        Assert.All(view.Tags, t => Assert.Equal([b], t.Analysts));
        Assert.Contains(a, view.Contributors);
        Assert.Contains(b, view.Contributors);
    }

    [Fact]
    public async Task Tagging_an_unknown_highlight_or_claim_is_not_found_and_a_missing_target_is_invalid()
    {
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);

        await RefusedAsync(StatusCode.NotFound, () => Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { HighlightId = "h000000000000" }, Tag = "x" }, who));
        await RefusedAsync(StatusCode.NotFound, () => Ch.Annotations().RemoveTagAsync(
            new RemoveTagRequest { RequestId = Rid(), Target = new TagTarget { ClaimId = "c000000000000" }, Tag = "x" }, who));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Tag = "x" }, who));
    }

    [Fact]
    public async Task Only_the_author_may_retract_a_highlight_and_a_retracted_one_is_no_longer_listed()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bob) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var id = (await HighlightAsync(article, Quote("Ships came."), ana)).Highlight.HighlightId;

        foreach (var other in new[] { bob, judge, server.Admin })
        {
            var e = await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Annotations().RetractHighlightAsync(
                new RetractHighlightRequest { RequestId = Rid(), HighlightId = id }, other));
            Assert.Contains("author", e.Status.Detail);
        }
        Assert.Single((await ListAsync(article, ana)).Highlights);

        await Ch.Annotations().RetractHighlightAsync(new RetractHighlightRequest { RequestId = Rid(), HighlightId = id }, ana);

        Assert.Empty((await ListAsync(article, ana)).Highlights);
        await RefusedAsync(StatusCode.NotFound, () => Ch.Annotations().RetractHighlightAsync(
            new RetractHighlightRequest { RequestId = Rid(), HighlightId = id }, ana));
    }

    [Fact]
    public async Task The_same_create_request_twice_writes_one_event_and_answers_the_same_highlight()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var request = new CreateHighlightRequest
        {
            RequestId = Rid(),
            ArticleId = article,
            Selector = Quote("Ships came."),
            Tags = { "port" }
        };

        var first = await Ch.Annotations().CreateHighlightAsync(request, who);
        var second = await Ch.Annotations().CreateHighlightAsync(request, who);

        Assert.False(first.Result.Deduplicated);
        Assert.True(second.Result.Deduplicated);
        Assert.Equal(first.Result.Position, second.Result.Position);
        Assert.Equal(first.Highlight, second.Highlight);
        Assert.Equal(2, (await server.EventsOfRequestAsync(request.RequestId)).Count); // created + tagged, once
        Assert.Single((await ListAsync(article, who)).Highlights);
    }

    [Fact]
    public async Task The_same_retract_request_twice_retracts_once()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var id = (await HighlightAsync(article, Quote("Ships came."), who)).Highlight.HighlightId;
        var request = new RetractHighlightRequest { RequestId = Rid(), HighlightId = id };

        var first = await Ch.Annotations().RetractHighlightAsync(request, who);
        var second = await Ch.Annotations().RetractHighlightAsync(request, who);

        Assert.True(second.Deduplicated);
        Assert.Equal(first.Position, second.Position);
        Assert.Single(await server.EventsOfRequestAsync(request.RequestId));
    }

    [Fact]
    public async Task Commands_with_an_empty_request_id_are_invalid()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("ana", Role.Analyst);
        var id = (await HighlightAsync(article, Quote("Ships came."), who)).Highlight.HighlightId;

        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { ArticleId = article, Selector = Quote("the mayor") }, who));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { Target = new TagTarget { HighlightId = id }, Tag = "x" }, who));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().RemoveTagAsync(
            new RemoveTagRequest { Target = new TagTarget { HighlightId = id }, Tag = "x" }, who));
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Annotations().RetractHighlightAsync(
            new RetractHighlightRequest { HighlightId = id }, who));
        Assert.Single((await ListAsync(article, who)).Highlights);
    }

    [Fact]
    public async Task An_auditor_may_list_highlights_but_not_create_or_tag_them()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, auditor) = await server.NewAnalystAsync("auditor", Role.Auditor);
        var id = (await HighlightAsync(article, Quote("Ships came."), ana)).Highlight.HighlightId;

        await RefusedAsync(StatusCode.PermissionDenied, () => HighlightAsync(article, Quote("the mayor"), auditor));
        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { HighlightId = id }, Tag = "x" }, auditor));
        Assert.Single((await ListAsync(article, auditor)).Highlights);
    }

    [Fact]
    public async Task Highlights_as_of_a_position_or_a_time_equal_the_listing_that_was_live_then()
    {
        var article = await server.ImportAsync(Text);
        var (_, ana) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bob) = await server.NewAnalystAsync("bob", Role.Analyst);

        var first = await HighlightAsync(article, Quote("Ships came."), ana, "", "port");
        var liveAfterFirst = await ListAsync(article, ana);
        var second = await HighlightAsync(article, Quote("the mayor"), bob);
        var tagged = await Ch.Annotations().ApplyTagAsync(
            new ApplyTagRequest { RequestId = Rid(), Target = new TagTarget { HighlightId = second.Highlight.HighlightId }, Tag = "quote" },
                ana);
        var liveAfterTag = await ListAsync(article, ana);
        await Ch.Annotations().RetractHighlightAsync(
            new RetractHighlightRequest { RequestId = Rid(), HighlightId = first.Highlight.HighlightId }, ana);
        Assert.Single((await ListAsync(article, ana)).Highlights);

        var byPosition = await ListAsync(article, ana, new AsOf { Position = first.Result.Position });
        var byTime = await ListAsync(article, ana, new AsOf { Time = first.Result.RecordedAt });
        var afterTag = await ListAsync(article, ana, new AsOf { Position = tagged.Position });
        var afterTagByTime = await ListAsync(article, ana, new AsOf { Time = tagged.RecordedAt });

        Assert.Equal(liveAfterFirst.Highlights, byPosition.Highlights);
        Assert.Equal(first.Result.Position, byPosition.AsOfPosition);
        Assert.Equal(liveAfterFirst.Highlights, byTime.Highlights);
        Assert.Equal(first.Result.Position, byTime.AsOfPosition);
        Assert.Equal(liveAfterTag.Highlights, afterTag.Highlights);
        Assert.Equal(2, afterTag.Highlights.Count);
        Assert.Equal(liveAfterTag.Highlights, afterTagByTime.Highlights);
        Assert.Empty((await ListAsync(article, ana, new AsOf { Position = first.Highlight.Position - 1 })).Highlights);
    }
}
