using System.Globalization;
using Annotate.Domain.Errors;

namespace Annotate.Domain.Anchoring;

/// <summary>
/// Resolves a <see cref="Selector"/> against a <see cref="TextDocument"/>.
/// Rules: a position must be non-empty, not reversed and inside the text. A quote is matched tolerantly (see
/// <see cref="FoldedText"/>: whitespace runs, typographic quotes and dashes). When several places match, each
/// candidate scores one point per given prefix/suffix that matches its context (same tolerance, whitespace at the
/// seam ignored); the single best-scoring candidate wins, a tie among several is refused as ambiguous. With both a
/// position and a quote, the quote (and any prefix/suffix given) must agree with the text at the position.
/// </summary>
public static class Anchor
{
    /// <summary>Code points of context stored on each side of a resolved span.</summary>
    public const int DefaultContextLength = 32;

    private const int MaxPlacesListed = 10;

    public static Result<ResolvedAnchor> Resolve(TextDocument document, Selector selector, int contextLength = DefaultContextLength)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(selector);

        // An empty exact means "no quote" (proto3 sends "" for an unset string); context alone selects nothing.
        if (selector.Quote is { Exact: null or "" })
        {
            selector = selector with { Quote = null };
        }

        if (selector.Position is null && selector.Quote is null)
        {
            return DomainError.Invalid("A selector needs a position (start, end) or a quote (exact); give at least one.");
        }

        if (selector.Quote is { } q && string.IsNullOrWhiteSpace(q.Exact))
        {
            return DomainError.Invalid("The quote is only whitespace; give the exact text to select, or a position only.");
        }

        if (selector.Position is { } position)
        {
            var checkedPosition = CheckPosition(document, position);
            if (!checkedPosition.IsOk)
            {
                return checkedPosition.Error;
            }

            if (selector.Quote is { } quote)
            {
                var disagreement = Disagreement(document, position, quote);
                if (disagreement is not null)
                {
                    return disagreement;
                }
            }

            return Build(document, position.Start, position.End, contextLength);
        }

        return FindQuote(document, selector.Quote!, contextLength);
    }

    private static Result<bool> CheckPosition(TextDocument document, TextPosition p)
    {
        if (p.Start < 0 || p.End < 0)
        {
            return DomainError.Invalid($"Position {p.Start}..{p.End} is negative; positions are code points from 0 to {document.Length}.");
        }

        if (p.Start > p.End)
        {
            return DomainError.Invalid($"Position {p.Start}..{p.End} is reversed; the start must come before the end (end is exclusive).");
        }

        if (p.Start == p.End)
        {
            return DomainError.Invalid($"Position {p.Start}..{p.End} is empty; select at least one code point (end is exclusive).");
        }

        if (p.End > document.Length)
        {
            return DomainError.Invalid($"Position {p.Start}..{p.End} is out of range; the text has {document.Length} code points.");
        }

        return true;
    }

    private static DomainError? Disagreement(TextDocument document, TextPosition p, TextQuote quote)
    {
        var actual = document.Slice(p.Start, p.End);
        if (!string.Equals(FoldedText.FoldQuery(actual), FoldedText.FoldQuery(quote.Exact), StringComparison.Ordinal))
        {
            return DomainError.Invalid(
                $"Position {p.Start}..{p.End} covers \"{Shorten(actual)}\" but the quote says \"{Shorten(quote.Exact)}\"; " +
                "send only one of them, or correct the other.");
        }

        if (!string.IsNullOrWhiteSpace(quote.Prefix) && !PrefixMatches(FoldedText.FoldQuery(document.Slice(0, p.Start)), quote.Prefix))
        {
            return DomainError.Invalid(
                $"The prefix \"{Shorten(quote.Prefix)}\" does not precede position {p.Start}..{p.End}; drop the prefix or correct " +
                    $"the position.");
        }

        if (
            !string.IsNullOrWhiteSpace(quote.Suffix)
            && !SuffixMatches(FoldedText.FoldQuery(document.Slice(p.End, document.Length)), quote.Suffix))
        {
            return DomainError.Invalid(
                $"The suffix \"{Shorten(quote.Suffix)}\" does not follow position {p.Start}..{p.End}; drop the suffix or correct " +
                    $"the position.");
        }

        return null;
    }

    private static Result<ResolvedAnchor> FindQuote(TextDocument document, TextQuote quote, int contextLength)
    {
        var folded = document.Folded;
        var needle = FoldedText.FoldQuery(quote.Exact);
        var candidates = new List<(int Start, int End, int Score)>();
        var hasPrefix = !string.IsNullOrWhiteSpace(quote.Prefix);
        var hasSuffix = !string.IsNullOrWhiteSpace(quote.Suffix);
        var prefix = hasPrefix ? FoldedText.FoldQuery(quote.Prefix!).TrimEnd(' ') : string.Empty;
        var suffix = hasSuffix ? FoldedText.FoldQuery(quote.Suffix!).TrimStart(' ') : string.Empty;
        for (var at = folded.Value.IndexOf(needle, StringComparison.Ordinal);
             at >= 0;
             at = at + 1 < folded.Value.Length ? folded.Value.IndexOf(needle, at + 1, StringComparison.Ordinal) : -1)
        {
            if (char.IsLowSurrogate(folded.Value[at]))
            {
                continue; // never start a match inside a surrogate pair
            }

            var score = 0;
            if (hasPrefix && folded.Value.AsSpan(0, at).TrimEnd(' ').EndsWith(prefix, StringComparison.Ordinal))
            {
                score++;
            }

            if (hasSuffix && folded.Value.AsSpan(at + needle.Length).TrimStart(' ').StartsWith(suffix, StringComparison.Ordinal))
            {
                score++;
            }

            candidates.Add((folded.Starts[at], folded.Ends[at + needle.Length - 1], score));
        }

        if (candidates.Count == 0)
        {
            // INVALID_ARGUMENT, as the contract says: NOT_FOUND is kept for an unknown article.
            return DomainError.Invalid(
                $"The quote \"{Shorten(quote.Exact)}\" does not occur in the text (whitespace, quote marks and dashes are matched " +
                    $"loosely); " +
                "check the wording or select by position.");
        }

        var best = candidates.Max(c => c.Score);
        var chosen = candidates.Where(c => c.Score == best).ToList();
        if (chosen.Count > 1)
        {
            var places = string.Join(", ", chosen.Take(MaxPlacesListed).Select(c => c.Start.ToString(CultureInfo.InvariantCulture)));
            if (chosen.Count > MaxPlacesListed)
            {
                places += ", …";
            }

            var hint = hasPrefix || hasSuffix
                ? "give a longer quote.prefix/quote.suffix or a position to choose"
                : "add quote.prefix/quote.suffix or a position to choose";
            return DomainError.Invalid(
                $"The quote \"{Shorten(quote.Exact)}\" matches at {chosen.Count} places (code points {places}); {hint}.");
        }

        return Build(document, chosen[0].Start, chosen[0].End, contextLength);
    }

    // The seam between context and quote may differ in whitespace (a quote may or may not carry the space).
    private static bool PrefixMatches(ReadOnlySpan<char> foldedBefore, string prefix)
    {
        var p = FoldedText.FoldQuery(prefix).AsSpan().TrimEnd(' ');
        return foldedBefore.TrimEnd(' ').EndsWith(p, StringComparison.Ordinal);
    }

    private static bool SuffixMatches(ReadOnlySpan<char> foldedAfter, string suffix)
    {
        var s = FoldedText.FoldQuery(suffix).AsSpan().TrimStart(' ');
        return foldedAfter.TrimStart(' ').StartsWith(s, StringComparison.Ordinal);
    }

    /// <summary>The span [start, end) of the document with its context (bounds already checked).</summary>
    internal static ResolvedAnchor Build(TextDocument document, int start, int end, int contextLength = DefaultContextLength) =>
        new(
            start,
            end,
            document.Slice(start, end),
            document.Slice(Math.Max(0, start - contextLength), start),
            document.Slice(end, Math.Min(document.Length, end + contextLength)));

    private static string Shorten(string text)
    {
        var oneLine = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return oneLine.Length <= 60 ? oneLine : oneLine[..57] + "...";
    }
}
