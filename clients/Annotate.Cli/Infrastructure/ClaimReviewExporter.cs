using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Infrastructure;

/// <summary>Who publishes the reviews: the organisation named as author, and the base of each review's url.</summary>
public sealed record ClaimReviewPublisher(string OrganizationName, string? OrganizationUrl, string UrlBase);

/// <summary>
/// schema.org ClaimReview JSON-LD (https://schema.org/ClaimReview), one per claim the team decided (a stance holding the
/// threshold) or an adjudicator ruled on; pending and contested claims have no review yet. The rating is on a 1-5 scale (1
/// false, 3 needs context, 5 true); "unverifiable" has a name but no value on it. The claim's place in the article is given as
/// W3C Web Annotation selectors (TextQuoteSelector, TextPositionSelector in code points), mapped into JSON-LD through the
/// oa: vocabulary in the context; evidence spans are the review's citations.
/// </summary>
public static class ClaimReviewExporter
{
    public const int BestRating = 5;
    public const int WorstRating = 1;

    public static bool IsReviewed(ClaimView c) =>
        c.Status is ClaimStatus.Supported or ClaimStatus.Refuted or ClaimStatus.NeedsContext or ClaimStatus.Unverifiable
            or ClaimStatus.Adjudicated;

    public static string Export(Article article, IEnumerable<ClaimView> claims, ClaimReviewPublisher publisher)
    {
        ArgumentNullException.ThrowIfNull(article);
        ArgumentNullException.ThrowIfNull(publisher);
        var reviews = new JsonArray();
        foreach (var c in claims.Where(IsReviewed)) reviews.Add(Review(article, c, publisher));
        return reviews.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
    }

    private static JsonObject Review(Article article, ClaimView c, ClaimReviewPublisher publisher)
    {
        var (verdict, decidedAt) = c.Adjudication is { } a ? (a.Verdict, a.AdjudicatedAt) : (c.LeadingStance, c.LastEventAt);
        var (value, name) = Rating(verdict);
        var rating = new JsonObject { ["@type"] = "Rating", ["bestRating"] = BestRating, ["worstRating"] = WorstRating };
        if (value is { } v) rating["ratingValue"] = v;
        rating["alternateName"] = name;
        var author = new JsonObject { ["@type"] = "Organization", ["name"] = publisher.OrganizationName };
        if (publisher.OrganizationUrl is { Length: > 0 } orgUrl) author["url"] = orgUrl;
        var review = new JsonObject
        {
            ["@context"] = Context(),
            ["@type"] = "ClaimReview",
            ["url"] = $"{publisher.UrlBase.TrimEnd('/')}/claims/{Uri.EscapeDataString(c.ClaimId)}",
            // One line: a statement quoted from an article keeps the article's line breaks, which a published summary should not.
            ["claimReviewed"] = string.Join(' ', c.Statement.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)),
            ["itemReviewed"] = new JsonObject
            {
                ["@type"] = "Claim",
                ["appearance"] = new JsonObject
                {
                    ["@type"] = "CreativeWork",
                    ["url"] = ArticleUrl(article.ArticleId, article.Source, publisher),
                    ["headline"] = article.Title,
                    ["selector"] = Selectors(c.Selector),
                },
            },
            ["author"] = author,
            ["datePublished"] = Iso(decidedAt),
            ["reviewRating"] = rating,
        };
        var citations = new JsonArray();
        foreach (var e in c.Evidence)
        {
            citations.Add(new JsonObject
            {
                ["@type"] = "CreativeWork",
                ["url"] = ArticleUrl(e.Span.ArticleId, "", publisher),
                ["selector"] = Selectors(e.Span.Selector),
                ["description"] = $"cited by {e.Analyst} for {Parsing.Name(e.Stance)}",
            });
        }
        if (citations.Count > 0) review["citation"] = citations;
        return review;
    }

    /// <summary>Where the rating puts a verdict on the 1-5 scale, and its name; null value off the scale.</summary>
    public static (int? Value, string Name) Rating(Stance verdict) => verdict switch
    {
        Stance.Supports => (5, "True"),
        Stance.Refutes => (1, "False"),
        Stance.NeedsContext => (3, "Needs context"),
        Stance.Unverifiable => (null, "Unverifiable"),
        _ => (null, "Unrated"),
    };

    /// <summary>schema.org as the vocabulary, and the W3C selectors under oa: (http://www.w3.org/ns/oa#).</summary>
    private static JsonArray Context() =>
    [
        "https://schema.org",
        new JsonObject
        {
            ["oa"] = "http://www.w3.org/ns/oa#",
            ["selector"] = new JsonObject { ["@id"] = "oa:hasSelector" },
            ["TextQuoteSelector"] = "oa:TextQuoteSelector",
            ["TextPositionSelector"] = "oa:TextPositionSelector",
            ["exact"] = "oa:exact",
            ["prefix"] = "oa:prefix",
            ["suffix"] = "oa:suffix",
            ["start"] = "oa:start",
            ["end"] = "oa:end",
        },
    ];

    private static string ArticleUrl(string articleId, string source, ClaimReviewPublisher publisher) =>
        Uri.TryCreate(source, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps)
            ? source
            : $"{publisher.UrlBase.TrimEnd('/')}/articles/{Uri.EscapeDataString(articleId)}";

    private static JsonArray Selectors(Selector s)
    {
        var list = new JsonArray();
        if (s.Quote is { } q)
        {
            var quote = new JsonObject { ["@type"] = "TextQuoteSelector", ["exact"] = q.Exact };
            if (q.Prefix.Length > 0) quote["prefix"] = q.Prefix;
            if (q.Suffix.Length > 0) quote["suffix"] = q.Suffix;
            list.Add(quote);
        }
        if (s.Position is { } p) list.Add(new JsonObject { ["@type"] = "TextPositionSelector", ["start"] = p.Start, ["end"] = p.End });
        return list;
    }

    private static string? Iso(Google.Protobuf.WellKnownTypes.Timestamp? t) =>
        t?.ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
