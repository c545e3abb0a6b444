using System.Collections.Immutable;
using Annotate.Domain.Events;

namespace Annotate.Domain.Claims;

/// <summary>A claim's span within its article, in code points [Start, End).</summary>
public sealed record IndexedClaim(string ClaimId, int Start, int End);

/// <summary>
/// The claims of one article, used to decide whether opening a claim duplicates an existing one. Two spans are the
/// same claim when the intersection over union of their code-point ranges is at least <see cref="DuplicateThreshold"/>.
/// Invariant: claims are kept in opening order; the server appends ClaimOpened to the article's index stream with
/// an expected version, so two racing openings cannot both pass this check.
/// </summary>
public sealed record ClaimIndex(string ArticleId, ImmutableList<IndexedClaim> Claims)
{
    public const double DuplicateThreshold = 0.8;

    public static ClaimIndex Empty(string articleId) => new(articleId, []);

    /// <summary>Intersection over union of [aStart, aEnd) and [bStart, bEnd); 0 when disjoint or both empty.</summary>
    public static double IntersectionOverUnion(int aStart, int aEnd, int bStart, int bEnd)
    {
        var intersection = Math.Max(0, Math.Min(aEnd, bEnd) - Math.Max(aStart, bStart));
        var union = Math.Max(aEnd, bEnd) - Math.Min(aStart, bStart);
        return union <= 0 || intersection == 0 ? 0 : (double)intersection / union;
    }

    /// <summary>The existing claim that covers the same text as [start, end): the highest overlap at or above the
    /// threshold, the earliest opened on a tie; null when none.</summary>
    public IndexedClaim? FindDuplicate(int start, int end)
    {
        IndexedClaim? best = null;
        var bestScore = 0.0;
        foreach (var claim in Claims)
        {
            var score = IntersectionOverUnion(start, end, claim.Start, claim.End);
            if (score >= DuplicateThreshold && score > bestScore)
            {
                best = claim;
                bestScore = score;
            }
        }

        return best;
    }

    public IndexedClaim? Find(string claimId) => Claims.Find(c => c.ClaimId == claimId);

    /// <summary>The index with each claim's span as revisions left it (<paramref name="current"/>: claim id to its span on the
    /// current text, null when orphaned); claims not named keep theirs. The stream holds spans as opened, on the text then.</summary>
    public ClaimIndex OnCurrentText(IReadOnlyDictionary<string, (int Start, int End)?> current) =>
        this with
        {
            Claims = [.. Claims
                .Select(c => current.TryGetValue(c.ClaimId, out var span)
                    ? span is { } s ? c with { Start = s.Start, End = s.End } : null
                    : c)
                .OfType<IndexedClaim>()],
        };

    public static ClaimIndex Evolve(ClaimIndex index, IDomainEvent e) => e switch
    {
        ClaimOpened o when o.ArticleId == index.ArticleId && index.Find(o.ClaimId) is null =>
            index with { Claims = index.Claims.Add(new IndexedClaim(o.ClaimId, o.Start, o.End)) },
        _ => index,
    };
}
