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
        Assert.Contains("immutable", e.Message);
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
