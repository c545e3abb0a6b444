namespace Annotate.Domain.Consensus;

/// <summary>
/// When a vote becomes a status. <see cref="Quorum"/>: analysts holding a current stance needed before any verdict
/// (below it the claim is PENDING). Threshold as an exact fraction <see cref="ThresholdNumerator"/>/<see cref="ThresholdDenominator"/>:
/// the share of current stances one stance must hold (at least) to win; compared in integers, so 2 of 3 meets 2/3 exactly.
/// Invariants: Quorum >= 1; 0 &lt; threshold &lt;= 1.
/// </summary>
public sealed record ConsensusPolicy
{
    public static ConsensusPolicy Default { get; } = new(3, 2, 3);

    public ConsensusPolicy(int quorum, int thresholdNumerator, int thresholdDenominator)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quorum, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(thresholdNumerator, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(thresholdDenominator, thresholdNumerator);
        Quorum = quorum;
        ThresholdNumerator = thresholdNumerator;
        ThresholdDenominator = thresholdDenominator;
    }

    public int Quorum { get; }

    public int ThresholdNumerator { get; }

    public int ThresholdDenominator { get; }

    public double Threshold => (double)ThresholdNumerator / ThresholdDenominator;

    /// <summary>True when <paramref name="count"/> of <paramref name="total"/> reaches the threshold share.</summary>
    public bool Reaches(int count, int total) => total > 0 && (long)count * ThresholdDenominator >= (long)ThresholdNumerator * total;
}
