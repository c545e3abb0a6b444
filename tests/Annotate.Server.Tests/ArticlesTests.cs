using System.Security.Cryptography;
using System.Text;
using Annotate.Contracts.V1;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>The Articles service end to end: import (admin), list, get; immutability and idempotency.</summary>
public sealed class ArticlesTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text = "Almaty, 5 January. 😀 Protesters gathered in the square.\nThe government resigned.";

    private GrpcChannel Ch => server.Channel;

    [Fact]
    public async Task An_imported_article_is_returned_with_its_text_revision_hash_and_code_point_length()
    {
        var id = server.Unique("imported");
        var imported = await Ch.Articles()
            .ImportArticleAsync(
                new ImportArticleRequest
                {
                    RequestId = Rid(),
                    ArticleId = id,
                    Title = "Protests",
                    Text = Text,
                    Source = "wire.txt",
                },
                server.Admin);

        var article = await Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = id }, server.Admin);

        Assert.Equal(Text, article.Text);
        Assert.Equal("Protests", article.Title);
        Assert.Equal("wire.txt", article.Source);
        Assert.Equal(1u, article.Revision);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Text))), article.ContentHash);
        Assert.Equal((uint)CountCodePoints(Text), article.Length);
        Assert.Equal(Text.Length - 1, (int)article.Length); // the emoji is one code point, two UTF-16 units
        Assert.Equal("admin", article.ImportedBy);
        Assert.Equal(imported.Result.Position, article.Position);
        Assert.False(imported.Result.Deduplicated);
        Assert.Equal($"article-{id}", imported.Result.StreamId);
        Assert.Matches("^[0-9a-f]{64}$", imported.Result.ReceiptHash);
        Assert.Equal("", imported.Article.Text);
    }

    [Fact]
    public async Task Any_role_lists_the_seed_articles_ordered_by_id_without_text_page_by_page()
    {
        var (_, auditor) = await server.NewAnalystAsync("auditor", Role.Auditor);
        var ids = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await Ch.Articles().ListArticlesAsync(
                new ListArticlesRequest { Page = new PageRequest { PageSize = 2, PageToken = token } }, auditor);
            Assert.True(page.Articles.Count <= 2);
            Assert.All(page.Articles, a => Assert.Equal("", a.Text));
            Assert.All(page.Articles, a => Assert.Matches("^[0-9a-f]{64}$", a.ContentHash));
            ids.AddRange(page.Articles.Select(a => a.ArticleId));
            token = page.NextPageToken;
            pages++;
        } while (token != "" && pages < 100);

        foreach (
            var seed in new[]
            {
                "kazakhstan-drawn-into-ukraine-war",
                "kazakhstan-crisis-saved-ukraine",
                "kazakhstan-concerned-about-invasion",
                "russia-involvement-kazakhstan-crisis",
                "russian-troops-in-kazakhstan",
            })
        {
            Assert.Contains(seed, ids);
        }
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(pages >= 3, $"{ids.Count} articles came in {pages} pages of 2");
    }

    [Fact]
    public async Task Importing_the_same_text_again_under_the_same_id_writes_nothing()
    {
        var id = server.Unique("again");
        var request = new ImportArticleRequest { RequestId = Rid(), ArticleId = id, Title = "Again", Text = Text };
        var first = await Ch.Articles().ImportArticleAsync(request, server.Admin);

        request.RequestId = Rid();
        var second = await Ch.Articles().ImportArticleAsync(request, server.Admin);

        Assert.True(second.Result.Deduplicated);
        Assert.Equal(first.Result.Position, second.Result.Position);
        Assert.Single(await server.ReplayAsync(new ReplayRequest { FromPosition = 1, Filter = new EventFilter { ArticleId = id } }));
    }

    [Fact]
    public async Task Reimporting_an_id_with_other_text_records_its_next_revision_and_the_original_text_again_changes_nothing()
    {
        var id = await server.ImportAsync(Text);
        var edited = Text + " Later edit.";

        var revised = await Ch.Articles().ImportArticleAsync(
            new ImportArticleRequest { RequestId = Rid(), ArticleId = id, Title = "Changed", Text = edited }, server.Admin);

        Assert.False(revised.Result.Deduplicated);
        Assert.Equal(2u, revised.Article.Revision);
        var article = await Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = id }, server.Admin);
        Assert.Equal((edited, 2u, "imported again"), (article.Text, article.Revision, article.RevisionReason));

        // The text it was imported with (e.g. a seed imported again at start-up) does not undo the revision.
        var again = await Ch.Articles().ImportArticleAsync(
            new ImportArticleRequest { RequestId = Rid(), ArticleId = id, Title = "Changed", Text = Text }, server.Admin);
        Assert.True(again.Result.Deduplicated);
        Assert.Equal(edited, (await Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = id }, server.Admin)).Text);
    }

    [Fact]
    public async Task The_same_request_id_twice_imports_once_and_answers_the_original_result()
    {
        var id = server.Unique("retried");
        var request = new ImportArticleRequest { RequestId = Rid(), ArticleId = id, Title = "Retried", Text = Text };

        var first = await Ch.Articles().ImportArticleAsync(request, server.Admin);
        var second = await Ch.Articles().ImportArticleAsync(request, server.Admin);

        Assert.False(first.Result.Deduplicated);
        Assert.True(second.Result.Deduplicated);
        Assert.Equal(first.Result.Position, second.Result.Position);
        Assert.Equal(first.Result.ReceiptHash, second.Result.ReceiptHash);
        Assert.Single(await server.EventsOfRequestAsync(request.RequestId));
    }

    [Theory]
    [InlineData("Bad_Id", "Title", "text")]
    [InlineData("", "Title", "text")]
    [InlineData("ok-id", "Title", "")]
    [InlineData("ok-id", "Title", "   \n ")]
    [InlineData("ok-id", "", "text")]
    public async Task An_import_with_a_bad_id_an_empty_text_or_no_title_is_invalid(string id, string title, string text)
    {
        if (id == "ok-id") id = server.Unique("invalid");
        await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Articles().ImportArticleAsync(
            new ImportArticleRequest { RequestId = Rid(), ArticleId = id, Title = title, Text = text }, server.Admin));
    }

    [Fact]
    public async Task An_article_id_beginning_with_claims_is_refused_as_it_would_name_another_articles_claim_openings()
    {
        var other = server.Unique("opened");
        var request = new ImportArticleRequest { RequestId = Rid(), ArticleId = $"claims-{other}", Title = "T", Text = Text };

        var e = await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Articles().ImportArticleAsync(request, server.Admin));

        Assert.Contains("reserved", e.Status.Detail);
        Assert.Empty(await server.EventsOfRequestAsync(request.RequestId));
    }

    [Fact]
    public async Task An_import_with_an_empty_request_id_is_invalid()
    {
        var e = await RefusedAsync(StatusCode.InvalidArgument, () => Ch.Articles().ImportArticleAsync(
            new ImportArticleRequest { RequestId = "", ArticleId = server.Unique("norequest"), Title = "T", Text = Text }, server.Admin));
        Assert.Contains("request_id", e.Status.Detail);
    }

    [Fact]
    public async Task Getting_an_unknown_article_is_not_found()
    {
        var e = await RefusedAsync(StatusCode.NotFound, () => Ch.Articles().GetArticleAsync(
            new GetArticleRequest { ArticleId = "no-such-article" }, server.Admin));
        Assert.Contains("no-such-article", e.Status.Detail);
    }

    [Theory]
    [InlineData(Role.Analyst)]
    [InlineData(Role.Adjudicator)]
    [InlineData(Role.Auditor)]
    public async Task Only_an_admin_may_import(Role role)
    {
        var (_, who) = await server.NewAnalystAsync("importer", role);
        var id = server.Unique("denied");

        await RefusedAsync(StatusCode.PermissionDenied, () => Ch.Articles().ImportArticleAsync(
            new ImportArticleRequest { RequestId = Rid(), ArticleId = id, Title = "T", Text = Text }, who));

        await RefusedAsync(StatusCode.NotFound, () => Ch.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = id }, who));
    }
}
