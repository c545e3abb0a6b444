namespace Annotate.Domain.Anchoring;

/// <summary>W3C TextPositionSelector: code points [Start, End) of the article text.</summary>
public sealed record TextPosition(int Start, int End);

/// <summary>W3C TextQuoteSelector: the quoted text and optional context just before and after it.</summary>
public sealed record TextQuote(string Exact, string? Prefix = null, string? Suffix = null);

/// <summary>
/// What a client sends to name a span: a position, a quote, or both (then they must agree).
/// Invariant: at least one of <see cref="Position"/> and <see cref="Quote"/> is set (checked by <see cref="Anchor.Resolve"/>).
/// </summary>
public sealed record Selector(TextPosition? Position, TextQuote? Quote)
{
    public static Selector AtPosition(int start, int end) => new(new TextPosition(start, end), null);

    public static Selector ForQuote(string exact, string? prefix = null, string? suffix = null) =>
        new(null, new TextQuote(exact, prefix, suffix));

    public static Selector Both(int start, int end, string exact, string? prefix = null, string? suffix = null) =>
        new(new TextPosition(start, end), new TextQuote(exact, prefix, suffix));
}

/// <summary>
/// A selector resolved against a document: both forms, as stored in events.
/// Invariants: 0 &lt;= Start &lt; End &lt;= document length; Exact is the document's text of [Start, End)
/// verbatim; Prefix and Suffix are the verbatim text of up to <see cref="Anchor.DefaultContextLength"/> code points
/// before and after.
/// </summary>
public sealed record ResolvedAnchor(int Start, int End, string Exact, string Prefix, string Suffix)
{
    public int Length => End - Start;
}
