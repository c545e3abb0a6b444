namespace Annotate.Domain.Anchoring;

/// <summary>
/// An article's text addressed in Unicode code points, the unit Python's <c>str</c> and the W3C
/// TextPositionSelector count (a surrogate pair counts once; a lone surrogate also counts once, as in Python).
/// Invariants: <see cref="Length"/> is the number of code points; for every code point index i in [0, Length],
/// <see cref="ToUtf16Index"/>(i) is the UTF-16 offset where code point i starts (Length maps to Text.Length), and
/// <see cref="ToCodePointIndex"/> inverts it. Immutable; mapping is O(1) one way and O(log n) the other.
/// </summary>
public sealed class TextDocument
{
    // UTF-16 start of each code point, plus Text.Length at the end; null when the text has no surrogate
    // pairs, in which case code point and UTF-16 indices coincide (the common case, no extra memory).
    private readonly int[]? _utf16Starts;
    private FoldedText? _folded;

    public TextDocument(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
        var pairs = 0;
        for (var i = 0; i + 1 < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
            {
                pairs++;
                i++;
            }
        }

        Length = text.Length - pairs;
        if (pairs == 0)
        {
            return;
        }

        _utf16Starts = new int[Length + 1];
        var cp = 0;
        for (var i = 0; i < text.Length; i++)
        {
            _utf16Starts[cp++] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
        }

        _utf16Starts[Length] = text.Length;
    }

    /// <summary>The text exactly as stored (UTF-16).</summary>
    public string Text { get; }

    /// <summary>Number of Unicode code points.</summary>
    public int Length { get; }

    /// <summary>UTF-16 offset at which code point <paramref name="codePointIndex"/> starts (0..Length).</summary>
    public int ToUtf16Index(int codePointIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(codePointIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(codePointIndex, Length);
        return _utf16Starts is null ? codePointIndex : _utf16Starts[codePointIndex];
    }

    /// <summary>Code point index of the code point containing UTF-16 offset <paramref name="utf16Index"/>
    /// (0..Text.Length); an offset inside a surrogate pair maps to the pair's code point.</summary>
    public int ToCodePointIndex(int utf16Index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(utf16Index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(utf16Index, Text.Length);
        if (_utf16Starts is null)
        {
            return utf16Index;
        }

        var found = Array.BinarySearch(_utf16Starts, utf16Index);
        return found >= 0 ? found : ~found - 1;
    }

    /// <summary>The text of code points [start, end).</summary>
    public string Slice(int start, int end)
    {
        if (start > end)
        {
            throw new ArgumentOutOfRangeException(nameof(start), "start must not exceed end");
        }

        var from = ToUtf16Index(start);
        return Text[from..ToUtf16Index(end)];
    }

    /// <summary>The tolerant form used for quote matching, computed once and cached (pure: depends only on Text).</summary>
    internal FoldedText Folded => _folded ??= FoldedText.Of(Text);

    public override string ToString() => Length <= 40 ? Text : Slice(0, 40) + "…";
}
