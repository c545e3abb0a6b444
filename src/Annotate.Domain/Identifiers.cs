using System.Text.RegularExpressions;

namespace Annotate.Domain;

/// <summary>
/// The shapes of ids, one per kind, as the contract documents them (protos/annotate/v1): analyst ids 1-40 characters of
/// [a-z0-9._-]; article ids 1-80 characters of [a-z0-9-] starting with a letter or digit; ids the server makes (claims,
/// highlights, tokens) and request ids 1-128 and 1-200 characters of letters, digits, '.', '_', ':' and '-', starting
/// with a letter or digit.
/// </summary>
public static partial class Identifiers
{
    public const string AnalystShape = "1-40 characters of a-z, 0-9, '.', '_' and '-'";
    public const string ArticleShape = "1-80 characters of a-z, 0-9 and '-', starting with a letter or digit";
    public const string ServerIdShape = "1-128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit";
    public const string RequestIdShape = "1-200 letters, digits, '.', '_', ':' or '-', starting with a letter or digit (a UUID is fine)";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex(@"^[a-z0-9._\-]{1,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex AnalystPattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9\-]{0,79}$", RegexOptions.CultureInvariant)]
    private static partial Regex ArticlePattern();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,199}$", RegexOptions.CultureInvariant)]
    private static partial Regex RequestIdPattern();

    /// <summary>An id the server makes (claim, highlight, token).</summary>
    public static bool IsValid(string? id) => id is not null && IdPattern().IsMatch(id);

    public static bool IsAnalystId(string? id) => id is not null && AnalystPattern().IsMatch(id);

    public static bool IsArticleId(string? id) => id is not null && ArticlePattern().IsMatch(id);

    public static bool IsRequestId(string? id) => id is not null && RequestIdPattern().IsMatch(id);

    internal static string? CheckAnalyst(string? id) =>
        IsAnalystId(id) ? null : $"The analyst id \"{id}\" is not valid; use {AnalystShape}.";

    internal static string? CheckArticle(string? id) =>
        IsArticleId(id) ? null : $"The article id \"{id}\" is not valid; use {ArticleShape}.";
}
