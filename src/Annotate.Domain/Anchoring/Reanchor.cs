using System.Globalization;
using Annotate.Domain.Events;

namespace Annotate.Domain.Anchoring;

/// <summary>A span as stored on an annotation (its last placement), to be carried onto a new revision.</summary>
public sealed record AnchoredSpan(AnchorKind Kind, string TargetId, int Start, int End, string Exact, string Prefix, string Suffix);

/// <summary>Where a span lands on a new text: <see cref="Anchor"/> with how and how sure, or null with the reason it
/// stays orphaned.</summary>
public sealed record Placement(ResolvedAnchor? Anchor, ReanchorMethod Method, double Score, string? OrphanReason = null)
{
    public bool Placed => Anchor is not null;

    public static Placement Orphan(string reason) => new(null, ReanchorMethod.Position, 0, reason);
}

/// <summary>
/// Carries a span onto a revised text, deterministically, in three steps; the first that is sure wins:
/// <list type="number">
/// <item>Position: the new text has the same quote with the same prefix and suffix, verbatim, at the same code points.</item>
/// <item>Quote: the quote occurs (matched as <see cref="FoldedText"/> tolerates: whitespace, quotes, dashes); each
/// occurrence scores the code points of stored context that still adjoin it. The best one is taken only when it keeps
/// at least <see cref="MinContext"/> of context (or all there was) and beats the next by at least
/// <see cref="MinMargin"/>; a single occurrence without context is taken only when the quote is at least
/// <see cref="LongQuote"/> long.</item>
/// <item>Fuzzy: the quote is gone but its prefix occurs exactly once and its suffix exactly once shortly after: the text
/// between them is the edited passage, taken when it is similar enough (<see cref="MinSimilarity"/>, edit distance).</item>
/// </list>
/// Anything else is orphaned with the reason: a span is never attached to a passage it cannot be shown to be.
/// Positions are code points. Pure.
/// </summary>
public static class Reanchor
{
    /// <summary>Folded characters of adjoining context a moved quote must keep (or all its context, if it had less).</summary>
    public const int MinContext = 8;

    /// <summary>How much more context the chosen occurrence must keep than the runner-up.</summary>
    public const int MinMargin = 4;

    /// <summary>A quote at least this long (folded) that occurs once is taken even when all its context changed.</summary>
    public const int LongQuote = 32;

    /// <summary>Least similarity (1 - edit distance / longer length) of an edited passage to its old quote.</summary>
    public const double MinSimilarity = 0.6;

    // Edit distance is quadratic; passages longer than this are not matched fuzzily (they orphan instead).
    private const int MaxFuzzyLength = 4000;

    public static Placement Place(TextDocument next, AnchoredSpan span)
    {
        ArgumentNullException.ThrowIfNull(next);
        ArgumentNullException.ThrowIfNull(span);
        if (SamePlace(next, span)) return new Placement(Anchor.Build(next, span.Start, span.End), ReanchorMethod.Position, 1);

        var folded = next.Folded;
        var needle = FoldedText.FoldQuery(span.Exact);
        if (needle.Trim(' ').Length == 0) return Placement.Orphan("the span has no text to look for");
        var prefix = FoldedText.FoldQuery(span.Prefix).TrimEnd(' ');
        var suffix = FoldedText.FoldQuery(span.Suffix).TrimStart(' ');
        var fullContext = prefix.Length + suffix.Length;
        var needed = Math.Min(MinContext, fullContext);

        var candidates = Occurrences(folded.Value, needle)
            .Select(at => (At: at, Context: Context(folded.Value, at, needle.Length, prefix, suffix)))
            .OrderByDescending(c => c.Context).ThenBy(c => c.At)
            .ToList();
        if (candidates.Count > 1)
        {
            var best = candidates[0];
            if (best.Context >= needed && best.Context >= candidates[1].Context + MinMargin)
                return Quoted(next, best.At, needle.Length, best.Context, fullContext);
            var tied = candidates.TakeWhile(c => c.Context > best.Context - MinMargin).Select(c => folded.Starts[c.At]).Order().ToList();
            return Placement.Orphan(
                $"the quote occurs at {candidates.Count} places and its context does not single one out (code points " +
                $"{string.Join(", ", tied.Take(5).Select(p => p.ToString(CultureInfo.InvariantCulture)))}{(tied.Count > 5 ? ", …" : "")})");
        }

        if (candidates.Count == 1 && (candidates[0].Context >= needed || needle.Length >= LongQuote))
            return Quoted(next, candidates[0].At, needle.Length, candidates[0].Context, fullContext);

        return Fuzzy(next, needle, prefix, suffix, quoteOccurs: candidates.Count == 1);
    }

    private static bool SamePlace(TextDocument next, AnchoredSpan span)
    {
        var prefixLength = Limits.CodePoints(span.Prefix);
        var suffixLength = Limits.CodePoints(span.Suffix);
        if (span.Start < prefixLength || span.Start >= span.End || span.End + suffixLength > next.Length) return false;
        // The stored context is what lay within the bounds of the old text; the same must hold here.
        var prefixStart = span.Start - prefixLength;
        var suffixEnd = span.End + suffixLength;
        if (prefixLength < Anchor.DefaultContextLength && prefixStart != 0) return false;
        if (suffixLength < Anchor.DefaultContextLength && suffixEnd != next.Length) return false;
        return next.Slice(span.Start, span.End) == span.Exact
            && next.Slice(prefixStart, span.Start) == span.Prefix
            && next.Slice(span.End, suffixEnd) == span.Suffix;
    }

    private static IEnumerable<int> Occurrences(string haystack, string needle)
    {
        for (var at = haystack.IndexOf(needle, StringComparison.Ordinal);
             at >= 0;
             at = at + 1 < haystack.Length ? haystack.IndexOf(needle, at + 1, StringComparison.Ordinal) : -1)
        {
            if (!char.IsLowSurrogate(haystack[at])) yield return at; // never inside a surrogate pair
        }
    }

    /// <summary>Folded characters of the stored context that still adjoin the occurrence, counted from the quote outwards
    /// (whitespace at the seam ignored, as in <see cref="Anchor"/>).</summary>
    private static int Context(string folded, int at, int length, string prefix, string suffix)
    {
        var before = folded.AsSpan(0, at).TrimEnd(' ');
        var after = folded.AsSpan(at + length).TrimStart(' ');
        var p = 0;
        while (p < prefix.Length && p < before.Length && prefix[^(p + 1)] == before[^(p + 1)]) p++;
        var s = 0;
        while (s < suffix.Length && s < after.Length && suffix[s] == after[s]) s++;
        return p + s;
    }

    private static Placement Quoted(TextDocument next, int at, int length, int context, int fullContext)
    {
        var folded = next.Folded;
        var score = fullContext == 0 ? 1 : 0.5 + (0.5 * context / fullContext);
        return new Placement(
            Anchor.Build(next, folded.Starts[at], folded.Ends[at + length - 1]),
            ReanchorMethod.Quote,
            Math.Round(score, 3));
    }

    private static Placement Fuzzy(TextDocument next, string needle, string prefix, string suffix, bool quoteOccurs)
    {
        var folded = next.Folded.Value;
        var lost = quoteOccurs
            ? "the quote occurs once but none of its context remains around it, and it is too short to be sure"
            : "the quote no longer occurs";
        if (prefix.Length < MinContext || suffix.Length < MinContext || needle.Length > MaxFuzzyLength)
            return Placement.Orphan(lost);

        var prefixes = Occurrences(folded, prefix).Take(2).ToList();
        if (prefixes.Count != 1)
            return Placement.Orphan(prefixes.Count == 0 ? $"{lost}, nor its context" : $"{lost}, and its context occurs at several places");

        var from = prefixes[0] + prefix.Length;
        var window = Math.Min(folded.Length - from, (2 * needle.Length) + LongQuote + suffix.Length);
        var suffixes = Occurrences(folded.Substring(from, window), suffix).Take(2).ToList();
        if (suffixes.Count != 1)
            return Placement.Orphan(suffixes.Count == 0 ? $"{lost}, nor its context" : $"{lost}, and its context occurs at several places");

        var start = from;
        var end = from + suffixes[0];
        while (start < end && folded[start] == ' ') start++;
        while (end > start && folded[end - 1] == ' ') end--;
        if (start == end) return Placement.Orphan("the passage was removed (the text around it remains)");

        var similarity = Math.Round(1 - ((double)EditDistance(needle, folded[start..end]) / Math.Max(needle.Length, end - start)), 3);
        if (similarity < MinSimilarity)
        {
            return Placement.Orphan(
                $"the passage between its context was rewritten (similarity {similarity.ToString("0.00", CultureInfo.InvariantCulture)}, " +
                $"below {MinSimilarity.ToString("0.00", CultureInfo.InvariantCulture)})");
        }

        var map = next.Folded;
        return new Placement(Anchor.Build(next, map.Starts[start], map.Ends[end - 1]), ReanchorMethod.Fuzzy, similarity);
    }

    /// <summary>Levenshtein distance over UTF-16 units, two rows.</summary>
    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
