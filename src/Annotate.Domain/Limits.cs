namespace Annotate.Domain;

/// <summary>
/// Size bounds on user-written values, so that one request cannot bloat the history; the contract documents each
/// (protos/annotate/v1). Lengths count Unicode code points, the characters the contract speaks of.
/// </summary>
public static class Limits
{
    public const int MaxRationale = 4000;
    public const int MaxEvidence = 20;
    public const int MaxNote = 4000;
    /// <summary>A reply in a discussion thread.</summary>
    public const int MaxReply = 4000;
    public const int MaxStatement = 1000;
    public const int MaxReason = 2000;
    public const int MaxTitle = 500;
    public const int MaxArticleText = 2_000_000;
    public const int MaxLabel = 200;
    public const int MaxDisplayName = 200;
    public const int MaxIdLength = 128;
    /// <summary>A quote's exact text, and its prefix or suffix, as sent.</summary>
    public const int MaxQuote = 10_000;
    public const int MaxQuoteContext = 1000;
    /// <summary>A tag as sent, before normalising (1-64 characters after).</summary>
    public const int MaxTagAsSent = 200;

    /// <summary>Longest claim or evidence span, in code points: a checkable statement or a cited passage, not an article.</summary>
    public const int MaxSpan = 4000;

    internal static string? SpanTooLong(string what, int length) =>
        length > MaxSpan
            ? $"The {what} spans {length} code points; the limit is {MaxSpan}. Select the sentence or passage that matters."
            : null;

    internal static string? TooLong(string what, string? value, int max) =>
        value is not null && value.Length > max && CodePoints(value) is var n && n > max
            ? $"The {what} has {n} characters; the limit is {max}. Shorten it."
            : null;

    /// <summary>Length in code points (a surrogate pair counts once).</summary>
    public static int CodePoints(string value)
    {
        var n = value.Length;
        for (var i = 0; i + 1 < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && char.IsLowSurrogate(value[i + 1])) { n--; i++; }
        }
        return n;
    }
}
