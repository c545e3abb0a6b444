using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Annotate.Server.Seeds;

/// <summary>One source article of seeds/: its stable id, headline, file (beside the manifest) and SHA-256 of the file's bytes.</summary>
public sealed record SeedArticle(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("sha256")] string Sha256);

/// <summary>Raised when seeds/manifest.json is missing, malformed, or does not match the files; the message names the culprit.</summary>
public sealed class SeedManifestException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// seeds/manifest.json, read and verified. Invariants once loaded: ids are unique lowercase slugs, every file
/// is a plain name inside the seeds folder, and every file's bytes hash to the recorded SHA-256 (so an edited
/// or truncated article is caught before anything is imported from it).
/// </summary>
public sealed partial class SeedManifest
{
    public const string FileName = "manifest.json";

    private SeedManifest(string directory, IReadOnlyList<SeedArticle> articles)
    {
        Directory = directory;
        Articles = articles;
    }

    /// <summary>The folder holding the manifest and the article files.</summary>
    public string Directory { get; }

    public IReadOnlyList<SeedArticle> Articles { get; }

    /// <summary>The seeds shipped beside the server's assembly (the build copies seeds/ there).</summary>
    public static string DefaultDirectory => Path.Combine(AppContext.BaseDirectory, "seeds");

    /// <summary>Reads and verifies the manifest in <paramref name="directory"/>.</summary>
    public static SeedManifest Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!System.IO.File.Exists(path)) throw new SeedManifestException($"Seed manifest not found: {path}");

        Document? doc;
        try
        {
            doc = JsonSerializer.Deserialize<Document>(System.IO.File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new SeedManifestException($"Seed manifest {path} is not valid JSON: {e.Message}", e);
        }
        if (doc is not null && doc.Version != 1)
            throw new SeedManifestException($"Seed manifest {path} has version {doc.Version}; this server reads version 1.");
        if (doc?.Articles is not { Count: > 0 } articles) throw new SeedManifestException($"Seed manifest {path} lists no articles.");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in articles)
        {
            if (a.Id is null || !Slug().IsMatch(a.Id))
            {
                throw new SeedManifestException(
                    $"Seed manifest {path}: id '{a.Id}' is not a lowercase slug (letters, digits, single hyphens).");
            }

            if (!seen.Add(a.Id))
                throw new SeedManifestException($"Seed manifest {path}: id '{a.Id}' appears twice.");
            if (string.IsNullOrWhiteSpace(a.Title))
                throw new SeedManifestException($"Seed manifest {path}: article '{a.Id}' has no title.");
            if (string.IsNullOrEmpty(a.File) || a.File != Path.GetFileName(a.File) || a.File is "." or "..")
            {
                throw new SeedManifestException(
                    $"Seed manifest {path}: article '{a.Id}' names file '{a.File}', which is not a plain file name in {directory}.");
            }

            var file = Path.Combine(directory, a.File);
            if (!System.IO.File.Exists(file)) throw new SeedManifestException($"Seed article '{a.Id}': file {file} is missing.");
            var actual = Hash(System.IO.File.ReadAllBytes(file));
            if (!string.Equals(actual, a.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new SeedManifestException(
                    $"Seed article '{a.Id}': {file} has SHA-256 {actual}, but the manifest records {a.Sha256}. " +
                    "The file was changed; restore it (seeds are kept byte for byte) or update the manifest on purpose.");
            }
        }
        return new SeedManifest(directory, articles);
    }

    /// <summary>The article's bytes as stored (already verified by <see cref="Load"/>).</summary>
    public byte[] ReadBytes(SeedArticle article) => System.IO.File.ReadAllBytes(Path.Combine(Directory, article.File));

    /// <summary>The article's text, decoded as strict UTF-8 (no byte-order-mark stripping, no replacement characters).</summary>
    public string ReadText(SeedArticle article) =>
        new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(ReadBytes(article));

    /// <summary>Lowercase hex SHA-256, as the manifest records it.</summary>
    public static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex Slug();

    private sealed record Document(
        [property: JsonPropertyName("version")] int Version,
        [property: JsonPropertyName("articles")] List<SeedArticle>? Articles);
}
