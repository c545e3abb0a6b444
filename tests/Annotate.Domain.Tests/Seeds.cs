using Annotate.Domain.Anchoring;

namespace Annotate.Domain.Tests;

/// <summary>The real seed articles, read from the repository's seeds/ folder (found by walking up to Annotate.sln).</summary>
internal static class Seeds
{
    public const string KazakhstanClaimArticle = "003_b03ce63f8eeabc7f";
    public const string TwentyPercentArticle = "002_4e23757e282a3ed9";

    private static readonly Lazy<string> SeedDirectory = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Annotate.sln")))
            {
                return Path.Combine(dir.FullName, "seeds");
            }
        }

        throw new InvalidOperationException("Annotate.sln not found above " + AppContext.BaseDirectory);
    });

    public static IEnumerable<string> Ids =>
        Directory.GetFiles(SeedDirectory.Value, "*.txt").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal)!;

    public static string Text(string id) => File.ReadAllText(Path.Combine(SeedDirectory.Value, id + ".txt"));

    public static TextDocument Document(string id) => new(Text(id));
}
