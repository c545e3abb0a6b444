using Annotate.Domain.Anchoring;
using Annotate.Domain.Articles;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Articles;

public sealed class ArticleTests
{
    private static readonly ImportArticle Seed3 = new(
        "russia-involvement-kazakhstan-crisis",
        "Russia’s Involvement",
        "seeds",
        Seeds.Text(Seeds.KazakhstanClaimArticle));

    [Fact]
    public void Importing_a_new_article_stores_its_text_and_content_hash()
    {
        var e = Assert.IsType<ArticleImported>(Assert.Single(Given.Ok(Article.Decide(ArticleState.Initial, Seed3, Given.Admin()))));
        Assert.Equal(Seed3.Text, e.Text);
        Assert.Matches("^sha256:[0-9a-f]{64}$", e.ContentHash);
        Assert.Equal("admin", e.ImportedBy);
    }

    [Fact]
    public void Content_hash_is_sha256_of_the_utf8_text()
    {
        Assert.Equal("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ContentHash.Of("abc"));
    }

    [Fact]
    public void Reimporting_the_same_text_decides_nothing()
    {
        var state = Given.Apply(ArticleState.Initial, Article.Evolve, Given.Ok(Article.Decide(ArticleState.Initial, Seed3, Given.Admin())));
        Assert.Empty(Given.Ok(Article.Decide(state, Seed3, Given.Admin())));
    }

    [Fact]
    public void Reimporting_other_text_under_the_same_id_is_refused()
    {
        var state = Given.Apply(ArticleState.Initial, Article.Evolve, Given.Ok(Article.Decide(ArticleState.Initial, Seed3, Given.Admin())));
        var e = Given.Refused(
            Article.Decide(state, Seed3 with { Text = Seed3.Text + "!" }, Given.Admin()),
            DomainErrorKind.FailedPrecondition);
        Assert.Contains("ReviseArticle", e.Message);
    }

    [Fact]
    public void Importing_needs_the_admin_role()
    {
        Given.Refused(Article.Decide(ArticleState.Initial, Seed3, Given.Analyst("alice")), DomainErrorKind.PermissionDenied);
    }

    [Theory]
    [InlineData("", "t", "text")]
    [InlineData("bad id", "t", "text")]
    [InlineData("Upper-Case", "t", "text")]
    [InlineData("under_score", "t", "text")]
    [InlineData("ok", " ", "text")]
    [InlineData("ok", "t", "  ")]
    public void Import_with_bad_id_title_or_text_is_refused(string id, string title, string text)
    {
        Given.Refused(
            Article.Decide(ArticleState.Initial, new ImportArticle(id, title, "s", text), Given.Admin()),
            DomainErrorKind.Invalid);
    }
}

public sealed class ArticleRevisionTests
{
    private const string Text = "One. The mayor said the bridge would reopen in May. Two. Residents were sceptical. Three.";

    private static ArticleState Imported() =>
        Given.Apply(ArticleState.Initial, Article.Evolve,
            Given.Ok(Article.Decide(ArticleState.Initial, new ImportArticle("town", "Town", "", Text), Given.Admin())));

    private static AnchoredSpan Span(AnchorKind kind, string id, string quote)
    {
        var a = Annotate.Domain.Anchoring.Anchor.Resolve(new TextDocument(Text), Selector.ForQuote(quote)).Value;
        return new AnchoredSpan(kind, id, a.Start, a.End, a.Exact, a.Prefix, a.Suffix);
    }

    [Fact]
    public void A_revision_records_the_new_text_then_one_outcome_per_span_in_kind_and_id_order()
    {
        var revised = "Zero. " + Text.Replace(" Residents were sceptical.", "", StringComparison.Ordinal);
        var events = Given.Ok(Article.Decide(Imported(), new ReviseArticle("town", revised, "correction", [
            Span(AnchorKind.Claim, "c2", "Residents were sceptical."),
            Span(AnchorKind.Highlight, "h1", "the bridge would reopen in May"),
        ]), Given.Admin()));
        var r = Assert.IsType<ArticleRevised>(events[0]);
        Assert.Equal((2, revised, "correction"), (r.Revision, r.Text, r.Reason));
        var moved = Assert.IsType<SpanReanchored>(events[1]);
        Assert.Equal(("h1", AnchorKind.Highlight, moved.OldStart + 6), (moved.TargetId, moved.Kind, moved.Start));
        var orphan = Assert.IsType<SpanOrphaned>(events[2]);
        Assert.Equal(("c2", 2), (orphan.TargetId, orphan.Revision));
        Assert.Equal(3, events.Count);
        Assert.Equal(2, Given.Apply(Imported(), Article.Evolve, events).Revision);
    }

    [Fact]
    public void Importing_the_original_text_again_after_a_revision_decides_nothing()
    {
        var revised = Given.Apply(Imported(), Article.Evolve,
            Given.Ok(Article.Decide(Imported(), new ReviseArticle("town", "Corrected.", "", []), Given.Admin())));
        Assert.Empty(Given.Ok(Article.Decide(revised, new ImportArticle("town", "Town", "", Text), Given.Admin())));
        Given.Refused(Article.Decide(revised, new ImportArticle("town", "Town", "", "Third text."), Given.Admin()),
            DomainErrorKind.FailedPrecondition);
    }

    [Fact]
    public void Revising_to_the_current_text_decides_nothing()
    {
        Assert.Empty(Given.Ok(Article.Decide(Imported(), new ReviseArticle("town", Text, "", []), Given.Admin())));
    }

    [Fact]
    public void Revising_needs_the_admin_role_an_existing_article_and_a_text()
    {
        Given.Refused(
            Article.Decide(Imported(), new ReviseArticle("town", "New.", "", []), Given.Analyst("alice")),
            DomainErrorKind.PermissionDenied);
        Given.Refused(
            Article.Decide(ArticleState.Initial, new ReviseArticle("town", "New.", "", []), Given.Admin()),
            DomainErrorKind.NotFound);
        Given.Refused(Article.Decide(Imported(), new ReviseArticle("town", " \n ", "", []), Given.Admin()), DomainErrorKind.Invalid);
        Given.Refused(
            Article.Decide(Imported(), new ReviseArticle("town", new string('x', Limits.MaxArticleText + 1), "", []), Given.Admin()),
            DomainErrorKind.Invalid);
    }
}
