namespace Annotate.Server.Infrastructure;

/// <summary>
/// Stream names. Claim openings of an article share one stream, so that two analysts opening the same span
/// at once (even on two replicas) serialize on its expected version and the second finds the first's claim.
/// Every other claim event lives in the claim's own stream.
/// </summary>
public static class Streams
{
    public static string Article(string articleId) => $"article-{articleId}";
    public static string ArticleClaims(string articleId) => $"article-claims-{articleId}";
    public static string Claim(string claimId) => $"claim-{claimId}";
    public static string Highlight(string highlightId) => $"highlight-{highlightId}";
    public static string Reply(string replyId) => $"reply-{replyId}";
    public static string Analyst(string analystId) => $"analyst-{analystId}";

    /// <summary>
    /// Whether an article id would name another article's claim openings: <c>article-claims-x</c> is both the stream of an
    /// article "claims-x" and <see cref="ArticleClaims"/> of article "x", so no article is given an id beginning "claims-".
    /// </summary>
    public static bool IsClaimOpeningsName(string articleId) => articleId.StartsWith("claims-", StringComparison.Ordinal);

    /// <summary>Whether a stream holds access events (an analyst's registration, roles and tokens).</summary>
    public static bool IsAccess(string streamId) => streamId.StartsWith("analyst-", StringComparison.Ordinal);

    /// <summary>Claim id of a claim stream name, or null.</summary>
    public static string? ClaimIdOf(string streamId) =>
        streamId.StartsWith("claim-", StringComparison.Ordinal) ? streamId["claim-".Length..] : null;
}
