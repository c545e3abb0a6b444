using Annotate.Domain.Events;

namespace Annotate.Domain.Consensus;

/// <summary>
/// Result of a nominal Krippendorff's alpha. <see cref="PairableValues"/> is n, the number of values in units that
/// hold at least two values (only those can be paired). <see cref="ObservedDisagreement"/> is D_o (share of
/// mismatching pairs in the coincidence matrix), <see cref="ExpectedDisagreement"/> is D_e (the same by chance
/// from the pooled value frequencies). <see cref="Alpha"/> = 1 - D_o / D_e, or null when undefined: fewer than
/// two pairable values, or D_e = 0 (every pairable value is the same, so agreement cannot be told from chance).
/// Both disagreements are 0 when n &lt; 2.
/// </summary>
public sealed record AlphaResult(double ObservedDisagreement, double ExpectedDisagreement, int PairableValues, double? Alpha);

/// <summary>
/// Nominal Krippendorff's alpha over units (claims) and coders (analysts) with missing values, following
/// Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011): build the coincidence matrix
/// o_ck = Σ_u n_uc·n_uk / (m_u − 1) (c ≠ k; n_uc(n_uc − 1)/(m_u − 1) on the diagonal) over units with m_u ≥ 2 values,
/// n_c its marginals, n = Σ n_c; then D_o = Σ_{c≠k} o_ck / n and D_e = Σ_{c≠k} n_c·n_k / (n(n − 1)).
/// Units with fewer than two values carry no information and are skipped. Pure; value equality decides categories.
/// </summary>
public static class KrippendorffAlpha
{
    /// <summary>Alpha over units, each given as the values its coders assigned (missing values simply absent).</summary>
    public static AlphaResult Nominal<T>(IEnumerable<IEnumerable<T>> units)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(units);
        var marginals = new Dictionary<T, double>();
        double diagonal = 0; // Σ_c o_cc
        var n = 0;
        foreach (var unit in units)
        {
            var counts = new Dictionary<T, int>();
            var m = 0;
            foreach (var value in unit)
            {
                counts[value] = counts.GetValueOrDefault(value) + 1;
                m++;
            }

            if (m < 2)
            {
                continue;
            }

            n += m;
            foreach (var (value, count) in counts)
            {
                marginals[value] = marginals.GetValueOrDefault(value) + count;
                diagonal += (double)count * (count - 1) / (m - 1);
            }
        }

        if (n < 2)
        {
            return new AlphaResult(0, 0, n, null);
        }

        // Off-diagonal sums: Σ_{c≠k} o_ck = n − Σ_c o_cc, and Σ_{c≠k} n_c·n_k = n² − Σ_c n_c².
        var observed = (n - diagonal) / n;
        var sumSquares = marginals.Values.Sum(v => v * v);
        var expected = ((double)n * n - sumSquares) / ((double)n * (n - 1));
        double? alpha = expected <= 0 ? null : 1 - (observed / expected);
        return new AlphaResult(observed, expected, n, alpha);
    }

    /// <summary>Alpha from a reliability data matrix as printed in the paper: one row per coder, one column per
    /// unit, null where the coder gave no value. Rows may differ in length (missing trailing values).</summary>
    public static AlphaResult FromCoderRows<T>(IReadOnlyList<IReadOnlyList<T?>> coderRows)
        where T : struct
    {
        ArgumentNullException.ThrowIfNull(coderRows);
        var unitCount = coderRows.Count == 0 ? 0 : coderRows.Max(r => r.Count);
        var units = Enumerable.Range(0, unitCount)
            .Select(u => coderRows.Where(r => u < r.Count && r[u].HasValue).Select(r => r[u]!.Value));
        return Nominal(units);
    }

    /// <summary>Article agreement: units are the article's claims, coders its analysts, values their current stances
    /// (withdrawn stances are missing). Adjudication does not change what analysts said, so it is ignored.</summary>
    public static AlphaResult ForClaims(IEnumerable<ClaimConsensus> claims) =>
        Nominal<Stance>(claims.Select(c => c.Stances.Select(s => s.Stance)));
}
