using System.Text;

namespace Annotate.Domain.Anchoring;

/// <summary>
/// Text folded for tolerant quote matching, with a map from each folded UTF-16 unit back to the code point
/// range of the original text it stands for. Folding: every run of whitespace (line breaks, tabs, no-break and
/// other Unicode spaces) becomes one ' '; typographic single quotes and primes become '\'', typographic double
/// quotes and double primes become '"'; figure/en/em dashes, the minus sign and Unicode hyphens become '-'.
/// Case and everything else are kept. Invariant: Starts[i] &lt; Ends[i], both non-decreasing, in code points.
/// </summary>
internal sealed class FoldedText
{
    private FoldedText(string folded, int[] starts, int[] ends)
    {
        Value = folded;
        Starts = starts;
        Ends = ends;
    }

    public string Value { get; }

    /// <summary>Original code point where folded unit i begins.</summary>
    public int[] Starts { get; }

    /// <summary>Original code point (exclusive) where folded unit i ends.</summary>
    public int[] Ends { get; }

    public static FoldedText Of(string text)
    {
        var folded = new StringBuilder(text.Length);
        var starts = new List<int>(text.Length);
        var ends = new List<int>(text.Length);
        var cp = 0;
        for (var i = 0; i < text.Length; i++, cp++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                // Astral code points are never folded: copy both units, both mapping to the same code point.
                folded.Append(c).Append(text[i + 1]);
                starts.Add(cp);
                starts.Add(cp);
                ends.Add(cp + 1);
                ends.Add(cp + 1);
                i++;
                continue;
            }

            if (IsSpace(c))
            {
                if (folded.Length > 0 && folded[^1] == ' ' && ends[^1] == cp)
                {
                    ends[^1] = cp + 1;
                    continue;
                }

                folded.Append(' ');
            }
            else
            {
                folded.Append(Fold(c));
            }

            starts.Add(cp);
            ends.Add(cp + 1);
        }

        return new FoldedText(folded.ToString(), [.. starts], [.. ends]);
    }

    /// <summary>Folds a query (quote, prefix or suffix) the same way as a document.</summary>
    public static string FoldQuery(string text) => Of(text).Value;

    // A folded ' ' always stands for whitespace (no other character folds to ' '), so extending the last
    // unit when it is ' ' and ends at the current code point merges exactly the original whitespace runs.
    private static bool IsSpace(char c) => char.IsWhiteSpace(c);

    private static char Fold(char c) => c switch
    {
        '\u2018' or '\u2019' or '\u201A' or '\u201B' or '\u2032' => '\'',
        '\u201C' or '\u201D' or '\u201E' or '\u201F' or '\u2033' => '"',
        '\u2010' or '\u2011' or '\u2012' or '\u2013' or '\u2014' or '\u2015' or '\u2212' or '\uFE63' or '\uFF0D' => '-',
        _ => c,
    };
}
