using Annotate.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>Full-text search end to end: what is found, with filters and paging, and what stays blind.</summary>
public sealed class SearchTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "The harbour opened in 1901. Ships came. The mayor said it twice. The bridge fell in 1950.";

    private GrpcChannel Ch => server.Channel;

    private async Task<List<SearchHit>> SearchAsync(CallOptions who, string words, Action<SearchRequest>? configure = null)
    {
        var request = new SearchRequest { Query = words };
        configure?.Invoke(request);
        return [.. (await Ch.Search().SearchAsync(request, who)).Hits];
    }

    private async Task<string> OpenAsync(string article, string quote, CallOptions who) =>
        (await Ch.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote(quote) }, who)).ClaimId;

    [Fact]
    public async Task A_rationale_is_found_by_a_word_in_it_with_its_claim_and_author_and_a_withdrawn_one_is_not()
    {
        var article = await server.ImportAsync(Text);
        var (ana, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var claim = await OpenAsync(article, "The harbour opened in 1901.", anaCall);
        var word = $"shipwright{Guid.NewGuid():N}"[..18];
        await Ch.Claims().TakeStanceAsync(new TakeStanceRequest
        {
            RequestId = Rid(),
            ClaimId = claim,
            Stance = Stance.Refutes,
            Rationale = $"The {word} registers say the harbour opened in 1899.",
        }, anaCall);

        var hit = Assert.Single(await SearchAsync(bobCall, word));
        Assert.Equal((SearchHitKind.Rationale, claim, article, ana), (hit.Kind, hit.ClaimId, hit.ArticleId, hit.Analyst));
        Assert.Contains(word, hit.Text);
        Assert.Single(await SearchAsync(bobCall, $"{word} harbour", r => r.ArticleId = article));
        Assert.Empty(await SearchAsync(bobCall, word, r => r.AnalystId = "someone-else"));
        Assert.Single(await SearchAsync(bobCall, word, r => r.Statuses.Add(ClaimStatus.Pending)));
        Assert.Empty(await SearchAsync(bobCall, word, r => r.Statuses.Add(ClaimStatus.Supported)));
        Assert.Empty(await SearchAsync(bobCall, word, r => r.From = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(1))));

        await Ch.Claims().WithdrawStanceAsync(new WithdrawStanceRequest { RequestId = Rid(), ClaimId = claim }, anaCall);
        Assert.Empty(await SearchAsync(bobCall, word));
    }

    [Fact]
    public async Task Statements_notes_replies_and_articles_are_found_ranked_filtered_by_tag_and_paged()
    {
        var word = $"lighthouse{Guid.NewGuid():N}"[..18];
        var article = await server.ImportAsync($"{Text} The {word} keeper wrote it down.");
        var (_, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var claim = await OpenAsync(article, "Ships came.", anaCall);
        var highlight = (await Ch.Annotations().CreateHighlightAsync(new CreateHighlightRequest
        {
            RequestId = Rid(),
            ArticleId = article,
            Selector = Quote("The mayor said it twice."),
            Note = $"{word} {word} log, check it",
            Tags = { "Needs Source" },
        }, anaCall)).Highlight.HighlightId;
        var reply = (await Ch.Discussion().PostReplyAsync(new PostReplyRequest
        {
            RequestId = Rid(),
            Target = new ReplyTarget { ClaimId = claim },
            Body = $"Which {word}?",
        }, anaCall)).Reply.ReplyId;

        var all = await SearchAsync(anaCall, word);
        Assert.Equal(
            [SearchHitKind.Article, SearchHitKind.HighlightNote, SearchHitKind.Reply],
            all.Select(h => h.Kind).Order());
        Assert.Equal(SearchHitKind.HighlightNote, all[0].Kind); // the word twice in a short text ranks first
        Assert.Equal(highlight, Assert.Single(await SearchAsync(anaCall, word, r => r.Tag = "needs-source")).HighlightId);
        Assert.Equal(reply, Assert.Single(await SearchAsync(anaCall, word, r => r.Statuses.Add(ClaimStatus.Pending))).ReplyId);

        var first = await Ch.Search().SearchAsync(new SearchRequest { Query = word, Page = new PageRequest { PageSize = 2 } }, anaCall);
        var second = await Ch.Search().SearchAsync(
            new SearchRequest { Query = word, Page = new PageRequest { PageSize = 2, PageToken = first.NextPageToken } }, anaCall);
        Assert.Equal(all.Select(h => h.Position), first.Hits.Concat(second.Hits).Select(h => h.Position));
        Assert.Equal("", second.NextPageToken);
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Search().SearchAsync(new SearchRequest { Query = " ,; " }, anaCall));
    }

    [Fact]
    public async Task Rationales_on_a_blind_claim_stay_out_of_an_analyst_s_results_until_their_own_stance()
    {
        var article = await server.ImportAsync(Text);
        var (_, anaCall) = await server.NewAnalystAsync("ana", Role.Analyst);
        var (_, bobCall) = await server.NewAnalystAsync("bob", Role.Analyst);
        var (_, judge) = await server.NewAnalystAsync("judge", Role.Adjudicator);
        var claim = await OpenAsync(article, "The bridge fell in 1950.", anaCall);
        await Ch.Claims().MakeBlindAsync(new MakeBlindRequest { RequestId = Rid(), ClaimId = claim }, judge);
        var word = $"engineer{Guid.NewGuid():N}"[..18];
        await Ch.Claims().TakeStanceAsync(new TakeStanceRequest
        {
            RequestId = Rid(),
            ClaimId = claim,
            Stance = Stance.Refutes,
            Rationale = $"The {word} report dates it to 1949.",
        }, anaCall);

        Assert.Empty(await SearchAsync(bobCall, word));
        Assert.Single(await SearchAsync(judge, word));
        await Ch.Claims().TakeStanceAsync(new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = Stance.Supports }, bobCall);
        Assert.Single(await SearchAsync(bobCall, word));
    }
}
