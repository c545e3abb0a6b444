using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Infrastructure;

/// <summary>
/// An article's annotations as a W3C Web Annotation collection (JSON-LD, https://www.w3.org/TR/annotation-model/),
/// and its consensus views as CSV (RFC 4180). Offsets stay code points, which is what TextPositionSelector counts.
/// </summary>
public static class Exporters
{
    private static string ArticleIri(string id) => $"urn:annotate:article:{id}";
    private static string AnalystIri(string id) => $"urn:annotate:analyst:{id}";
    private static string ClaimIri(string id) => $"urn:annotate:claim:{id}";

    public static string W3c(Article article, IEnumerable<Highlight> highlights, IEnumerable<ClaimView> claims)
    {
        ArgumentNullException.ThrowIfNull(article);
        var items = new JsonArray();
        foreach (var h in highlights)
        {
            var body = new JsonArray();
            if (h.Note.Length > 0) body.Add(TextBody(h.Note, "commenting"));
            foreach (var t in h.Tags) body.Add(TextBody(t.Tag, "tagging"));
            items.Add(new JsonObject
            {
                ["id"] = $"urn:annotate:highlight:{h.HighlightId}",
                ["type"] = "Annotation",
                ["motivation"] = "highlighting",
                ["creator"] = Person(h.Author),
                ["created"] = Iso(h.CreatedAt),
                ["body"] = body,
                ["target"] = Target(article.ArticleId, h.Selector),
            });
        }
        foreach (var c in claims)
        {
            var body = new JsonArray
            {
                TextBody(c.Statement, "describing"),
                TextBody(Parsing.Name(c.Status), "classifying"),
            };
            foreach (var t in c.Tags) body.Add(TextBody(t.Tag, "tagging"));
            items.Add(new JsonObject
            {
                ["id"] = ClaimIri(c.ClaimId),
                ["type"] = "Annotation",
                ["motivation"] = "assessing",
                ["creator"] = Person(c.OpenedBy),
                ["modified"] = Iso(c.LastEventAt),
                ["body"] = body,
                ["target"] = Target(article.ArticleId, c.Selector),
            });
            foreach (var s in c.Stances)
            {
                var stanceBody = new JsonArray { TextBody(Parsing.Name(s.Stance), "assessing") };
                if (s.Rationale.Length > 0) stanceBody.Add(TextBody(s.Rationale, "commenting"));
                foreach (var e in s.Evidence) stanceBody.Add(SpecificResource(e.ArticleId, e.Selector, "linking"));
                items.Add(new JsonObject
                {
                    ["id"] = $"{ClaimIri(c.ClaimId)}:stance:{s.Analyst}",
                    ["type"] = "Annotation",
                    ["motivation"] = "assessing",
                    ["creator"] = Person(s.Analyst),
                    ["created"] = Iso(s.TakenAt),
                    ["body"] = stanceBody,
                    ["target"] = ClaimIri(c.ClaimId),
                });
            }
        }
        var collection = new JsonObject
        {
            ["@context"] = "http://www.w3.org/ns/anno.jsonld",
            ["id"] = $"{ArticleIri(article.ArticleId)}:annotations",
            ["type"] = "AnnotationCollection",
            ["label"] = $"Annotations of {article.Title}",
            ["total"] = items.Count,
            ["first"] = new JsonObject { ["type"] = "AnnotationPage", ["startIndex"] = 0, ["items"] = items },
        };
        // Relaxed escaping keeps curly quotes and non-Latin text readable (JSON-LD is UTF-8).
        return collection.ToJsonString(
            new JsonSerializerOptions
            {
                WriteIndented = true,
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            });
    }

    private static JsonObject TextBody(string value, string purpose) => new()
    {
        ["type"] = "TextualBody",
        ["value"] = value,
        ["format"] = "text/plain",
        ["purpose"] = purpose,
    };

    private static JsonObject Person(string analyst) => new() { ["id"] = AnalystIri(analyst), ["type"] = "Person", ["nickname"] = analyst };

    private static JsonObject Target(string articleId, Selector selector) => new()
    {
        ["source"] = ArticleIri(articleId),
        ["selector"] = Selectors(selector),
    };

    private static JsonObject SpecificResource(string articleId, Selector selector, string purpose) => new()
    {
        ["type"] = "SpecificResource",
        ["purpose"] = purpose,
        ["source"] = ArticleIri(articleId),
        ["selector"] = Selectors(selector),
    };

    private static JsonArray Selectors(Selector s)
    {
        var list = new JsonArray();
        if (s.Position is { } p) list.Add(new JsonObject { ["type"] = "TextPositionSelector", ["start"] = p.Start, ["end"] = p.End });
        if (s.Quote is { } q)
        {
            var quote = new JsonObject { ["type"] = "TextQuoteSelector", ["exact"] = q.Exact };
            if (q.Prefix.Length > 0) quote["prefix"] = q.Prefix;
            if (q.Suffix.Length > 0) quote["suffix"] = q.Suffix;
            list.Add(quote);
        }
        return list;
    }

    private static string? Iso(Google.Protobuf.WellKnownTypes.Timestamp? t) =>
        t?.ToDateTimeOffset().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static readonly string[] CsvColumns =
    [
        "claim_id", "article_id", "start", "end", "quote", "statement", "status", "leading_stance", "agreement",
        "supports", "refutes", "needs_context", "unverifiable", "quorum", "threshold", "contributors", "tags",
        "verdict", "version", "last_position", "last_event_at",
    ];

    public static string Csv(IEnumerable<ClaimView> claims)
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(',', CsvColumns)).Append("\r\n");
        foreach (var c in claims)
        {
            uint Count(Stance s) => c.Tallies.FirstOrDefault(t => t.Stance == s)?.Count ?? 0;
            string[] row =
            [
                c.ClaimId, c.ArticleId, Num(c.Selector?.Position?.Start), Num(c.Selector?.Position?.End), c.Selector?.Quote?.Exact ?? "",
                c.Statement, Parsing.Name(c.Status), c.LeadingStance == Stance.Unspecified ? "" : Parsing.Name(c.LeadingStance),
                c.Agreement.ToString("0.####", CultureInfo.InvariantCulture),
                Num(Count(Stance.Supports)),
                Num(Count(Stance.Refutes)),
                Num(Count(Stance.NeedsContext)),
                Num(Count(Stance.Unverifiable)),
                Num(c.Quorum),
                c.Threshold.ToString("0.####", CultureInfo.InvariantCulture),
                string.Join(' ', c.Contributors),
                string.Join(' ', c.Tags.Select(t => t.Tag)),
                c.Adjudication is { } a ? Parsing.Name(a.Verdict) : "",
                c.Version.ToString(CultureInfo.InvariantCulture),
                c.LastPosition.ToString(CultureInfo.InvariantCulture),
                Iso(c.LastEventAt) ?? "",
            ];
            sb.Append(string.Join(',', row.Select(Field))).Append("\r\n");
        }
        return sb.ToString();
    }

    private static string Num(uint? n) => n?.ToString(CultureInfo.InvariantCulture) ?? "";

    /// <summary>RFC 4180: quote a field holding a comma, quote or line break; double inner quotes.</summary>
    public static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
}
