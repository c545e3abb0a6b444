namespace Annotate.Domain;

/// <summary>Size bounds on user-written values, so that one request cannot bloat the history. Lengths in UTF-16 units.</summary>
public static class Limits
{
    public const int MaxRationale = 4000;
    public const int MaxEvidence = 20;
    public const int MaxNote = 2000;
    public const int MaxStatement = 1000;
    public const int MaxReason = 2000;
    public const int MaxTitle = 500;
    public const int MaxArticleText = 2_000_000;
    public const int MaxLabel = 200;
    public const int MaxDisplayName = 200;
    public const int MaxIdLength = 128;

    /// <summary>Longest claim or evidence span, in code points: a checkable statement or a cited passage, not an article.</summary>
    public const int MaxSpan = 4000;

    internal static string? SpanTooLong(string what, int length) =>
        length > MaxSpan ? $"The {what} spans {length} code points; the limit is {MaxSpan}. Select the sentence or passage that matters." : null;

    internal static string? TooLong(string what, string? value, int max) =>
        value is not null && value.Length > max ? $"The {what} has {value.Length} characters; the limit is {max}. Shorten it." : null;
}
