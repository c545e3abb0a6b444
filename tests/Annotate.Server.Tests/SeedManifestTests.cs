using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Annotate.Server.Seeds;

namespace Annotate.Server.Tests;

public sealed partial class SeedManifestTests : IDisposable
{
    private readonly string _copy = Directory.CreateTempSubdirectory("annotate-seeds-").FullName;

    public SeedManifestTests()
    {
        foreach (var f in Directory.GetFiles(SeedManifest.DefaultDirectory)) File.Copy(f, Path.Combine(_copy, Path.GetFileName(f)));
    }

    [Fact]
    public void The_shipped_manifest_lists_the_five_articles_with_matching_hashes()
    {
        var manifest = SeedManifest.Load(SeedManifest.DefaultDirectory);

        Assert.Equal(5, manifest.Articles.Count);
        Assert.Equal(5, manifest.Articles.Select(a => a.Id).Distinct().Count());
        Assert.Equal(
            Directory.GetFiles(SeedManifest.DefaultDirectory, "*.txt").Select(Path.GetFileName).Order(),
            manifest.Articles.Select(a => a.File).Order());
        foreach (var article in manifest.Articles)
        {
            Assert.Equal(SeedManifest.Hash(manifest.ReadBytes(article)), article.Sha256);
            // The title is the article's headline: its opening words, wherever the text wraps them.
            var opening = Spaces().Replace(string.Join(' ', manifest.ReadText(article).Split('\n').Take(4)), " ");
            Assert.Contains(article.Title, opening);
        }
    }

    [Fact]
    public void A_changed_article_is_refused_naming_it()
    {
        var manifest = SeedManifest.Load(_copy);
        var article = manifest.Articles[2];
        File.AppendAllText(Path.Combine(_copy, article.File), " ");

        var e = Assert.Throws<SeedManifestException>(() => SeedManifest.Load(_copy));

        Assert.Contains($"'{article.Id}'", e.Message);
        Assert.Contains(article.File, e.Message);
        Assert.Contains("SHA-256", e.Message);
    }

    [Fact]
    public void A_missing_article_file_is_refused()
    {
        var article = SeedManifest.Load(_copy).Articles[0];
        File.Delete(Path.Combine(_copy, article.File));

        var e = Assert.Throws<SeedManifestException>(() => SeedManifest.Load(_copy));

        Assert.Contains("missing", e.Message);
        Assert.Contains(article.File, e.Message);
    }

    [Fact]
    public void A_duplicate_id_is_refused()
    {
        Rewrite(articles => articles[1]!["id"] = articles[0]!["id"]!.GetValue<string>());

        var e = Assert.Throws<SeedManifestException>(() => SeedManifest.Load(_copy));

        Assert.Contains("appears twice", e.Message);
    }

    [Theory]
    [InlineData("../000_1ddb754ee6ea72ed.txt")]
    [InlineData("/etc/passwd")]
    public void A_file_outside_the_seeds_folder_is_refused(string file)
    {
        Rewrite(articles => articles[0]!["file"] = file);

        var e = Assert.Throws<SeedManifestException>(() => SeedManifest.Load(_copy));

        Assert.Contains("not a plain file name", e.Message);
    }

    [Theory]
    [InlineData("Kazakhstan-War")]
    [InlineData("kazakhstan--war")]
    [InlineData("")]
    public void An_id_that_is_not_a_lowercase_slug_is_refused(string id)
    {
        Rewrite(articles => articles[0]!["id"] = id);

        var e = Assert.Throws<SeedManifestException>(() => SeedManifest.Load(_copy));

        Assert.Contains("slug", e.Message);
    }

    private void Rewrite(Action<JsonArray> change)
    {
        var path = Path.Combine(_copy, SeedManifest.FileName);
        var doc = JsonNode.Parse(File.ReadAllText(path))!;
        change(doc["articles"]!.AsArray());
        File.WriteAllText(path, doc.ToJsonString());
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    public void Dispose() => Directory.Delete(_copy, recursive: true);
}
