namespace Annotate.Benchmarks.EventStore;

// The events every contestant writes and the rebuild replays: shaped like the product's claim events (ids and plain
// values, a quote and a rationale of realistic length), but the benchmark's own, so it does not move when the
// product's events do.

/// <summary>A claim opened over a span of an article: the first event of a claim stream.</summary>
public sealed record BenchClaimOpened(string ClaimId, string ArticleId, int Start, int End, string Quote, string OpenedBy);

/// <summary>An analyst's stance on a claim: what the append scenarios write, one per call.</summary>
public sealed record BenchStanceTaken(
    string ClaimId, string AnalystId, string Stance, string Rationale, int EvidenceStart, int EvidenceEnd);

internal static class ClaimEvents
{
    private static readonly string[] Stances = ["SUPPORTS", "REFUTES", "NEEDS_CONTEXT", "UNVERIFIABLE"];

    public static BenchStanceTaken Stance(string claimId, int analyst, long n) =>
        new(
            claimId,
            $"analyst-{analyst:D3}",
            Stances[(int)(n % Stances.Length)],
            "The cited figure matches the agency's published table for the same quarter.",
            (int)(n % 4000),
            (int)(n % 4000) + 120);

    public static BenchClaimOpened Opened(string claimId, int n) =>
        new(claimId, $"article-{n % 50:D2}", n % 4000, n % 4000 + 160,
            "Unemployment fell to its lowest level in a decade, the ministry said on Tuesday.", $"analyst-{n % 64:D3}");

    /// <summary>A claim stream of <paramref name="count"/> events: opened, then stances by rotating analysts.</summary>
    public static IReadOnlyList<object> Stream(string claimId, int n, int count)
    {
        var events = new object[count];
        events[0] = Opened(claimId, n);
        for (var i = 1; i < count; i++) events[i] = Stance(claimId, (n + i) % 64, n + i);
        return events;
    }
}
