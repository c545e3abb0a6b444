using System.Text;
using Annotate.Domain.Errors;

namespace Annotate.Domain.Tags;

/// <summary>
/// Normalises tag names so that "Needs Source", " needs  source " and "NEEDS-SOURCE" are one tag.
/// Rule: trim, lower-case (invariant culture), every inner run of whitespace becomes one '-'. The result must be
/// 1..<see cref="MaxLength"/> characters of [a-z0-9-_:]; anything else is refused (no silent stripping, so a user
/// never gets a tag they did not type).
/// </summary>
public static class TagName
{
    public const int MaxLength = 64;

    public static Result<string> Normalize(string? raw)
    {
        var trimmed = (raw ?? string.Empty).Trim();
        if (trimmed.Length == 0)
        {
            return DomainError.Invalid("The tag is empty; give a name such as \"needs-source\".");
        }

        var sb = new StringBuilder(trimmed.Length);
        var inSpace = false;
        foreach (var c in trimmed)
        {
            if (char.IsWhiteSpace(c))
            {
                inSpace = true;
                continue;
            }

            if (inSpace)
            {
                sb.Append('-');
                inSpace = false;
            }

            sb.Append(char.ToLowerInvariant(c));
        }

        var name = sb.ToString();
        if (name.Length > MaxLength)
        {
            return DomainError.Invalid($"The tag \"{name[..20]}…\" has {name.Length} characters; tags have at most {MaxLength}.");
        }

        foreach (var c in name)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '_' or ':'))
            {
                return DomainError.Invalid(
                    $"The tag \"{name}\" contains '{c}'; tags use only letters a-z, digits, '-', '_' and ':' (spaces become '-').");
            }
        }

        return name;
    }
}
