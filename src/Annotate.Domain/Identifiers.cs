using System.Text.RegularExpressions;

namespace Annotate.Domain;

/// <summary>Shape of ids the domain accepts: 1..128 characters of letters, digits, '-', '_', '.', ':' (starting with a letter
/// or digit). Article ids are slugs such as "003_b03ce63f8eeabc7f"; claim, highlight and token ids are caller-generated.</summary>
public static partial class Identifiers
{
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    public static bool IsValid(string? id) => id is not null && IdPattern().IsMatch(id);

    internal static string? Check(string what, string? id) =>
        IsValid(id) ? null : $"The {what} \"{id}\" is not a valid id; use 1 to 128 letters, digits, '-', '_', '.' or ':'.";
}
