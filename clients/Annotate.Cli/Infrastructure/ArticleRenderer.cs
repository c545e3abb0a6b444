using System.Globalization;
using System.Text;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Infrastructure;

/// <summary>
/// An article's text with its highlights and claims marked. Offsets are code points (runes), as the server counts
/// them. Plain: highlights as [..], claims as {..}[n]. Colour: highlights shaded, claims underlined in the colour
/// of their status, each followed by its [n] marker. Invariant: the text itself is printed unchanged in between.
/// </summary>
public static class ArticleRenderer
{
    private const string Reset = "\u001b[0m";

    public static string Render(Article article, IReadOnlyList<Highlight> highlights, IReadOnlyList<ClaimView> claims, bool color)
    {
        ArgumentNullException.ThrowIfNull(article);
        ArgumentNullException.ThrowIfNull(highlights);
        ArgumentNullException.ThrowIfNull(claims);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{article.Title}");
        sb.AppendLine(
            CultureInfo.InvariantCulture,
            $"{article.ArticleId} · revision {article.Revision} · {article.Length} code points · sha256 {article.ContentHash}");
        sb.AppendLine();
        var runes = article.Text.EnumerateRunes().Select(r => r.ToString()).ToArray();
        // Only spans on the text shown are marked in it; the others (orphans, or spans of another revision in an as-of
        // view) are listed below, since their offsets are of another text.
        var spans = highlights
            .Where(h => OnText(h.Anchor, article))
            .Select(h => new Span(Start(h.Selector), End(h.Selector), null, h.Selector))
            .Concat(claims.Select((c, i) => (c, i)).Where(p => OnText(p.c.Anchor, article))
                .Select(p => new Span(Start(p.c.Selector), End(p.c.Selector), (p.i + 1, p.c.Status), p.c.Selector)))
            .ToList();
        if (color) RenderColor(sb, runes, spans);
        else RenderPlain(sb, runes, spans);
        sb.AppendLine();

        if (claims.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Claims:");
            for (var i = 0; i < claims.Count; i++)
            {
                var c = claims[i];
                var status = Parsing.Name(c.Status);
                sb.AppendLine(CultureInfo.InvariantCulture, $"  [{i + 1}] {(color ? Paint(status, StatusColor(c.Status)) : status),-14} " +
                                                            $"{Text.Tallies(c)} · {c.ClaimId} · {Text.Quote(c.Statement, 70)}");
            }
        }
        if (highlights.Any(h => OnText(h.Anchor, article)))
        {
            sb.AppendLine();
            sb.AppendLine("Highlights:");
            foreach (var h in highlights.Where(h => OnText(h.Anchor, article)))
            {
                var tags = h.Tags.Count == 0 ? "" : " #" + string.Join(" #", h.Tags.Select(t => t.Tag));
                var note = h.Note.Length == 0 ? "" : " — " + h.Note;
                sb.AppendLine(CultureInfo.InvariantCulture, $"  {h.HighlightId} by {h.Author}: {Text.Span(h.Selector)}{tags}{note}");
            }
        }
        var elsewhere = highlights.Where(h => !OnText(h.Anchor, article)).Select(h => (Id: h.HighlightId, h.Selector, h.Anchor))
            .Concat(claims.Where(c => !OnText(c.Anchor, article)).Select(c => (Id: c.ClaimId, c.Selector, c.Anchor)))
            .ToList();
        if (elsewhere.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Not on revision {article.Revision} (not marked above):");
            foreach (var (spanId, selector, anchor) in elsewhere)
                sb.AppendLine(CultureInfo.InvariantCulture, $"  {spanId}: {Text.Span(selector)}\n    {Text.Anchor(anchor)}");
        }
        return sb.ToString().TrimEnd();
    }

    /// <summary>Whether a span's offsets are of the text shown (a server without revisions sends no anchor state).</summary>
    private static bool OnText(AnchorState? anchor, Article article) =>
        anchor is null || anchor.Revision == 0 || (anchor.Revision == article.Revision && anchor.Status != AnchorStatus.Orphaned);

    private sealed record Span(int Start, int End, (int Number, ClaimStatus Status)? Claim, Selector Selector);

    private static int Start(Selector s) => (int)(s.Position?.Start ?? 0);
    private static int End(Selector s) => (int)(s.Position?.End ?? 0);

    private static void RenderPlain(StringBuilder sb, string[] runes, List<Span> spans)
    {
        for (var i = 0; i <= runes.Length; i++)
        {
            // Inner spans close first, outer spans open first, so nested spans nest their brackets.
            foreach (var s in spans.Where(s => s.End == i && s.End > s.Start).OrderByDescending(s => s.Start))
                sb.Append(s.Claim is { } c ? $"}}[{c.Number}]" : "]");
            foreach (var s in spans.Where(s => s.Start == i && s.End > s.Start).OrderByDescending(s => s.End))
                sb.Append(s.Claim is null ? "[" : "{");
            if (i < runes.Length) sb.Append(runes[i]);
        }
    }

    private static void RenderColor(StringBuilder sb, string[] runes, List<Span> spans)
    {
        var current = "";
        for (var i = 0; i <= runes.Length; i++)
        {
            foreach (var s in spans.Where(s => s.Claim is not null && s.End == i && s.End > s.Start))
            {
                sb.Append(Reset);
                current = "";
                sb.Append(Paint($"[{s.Claim!.Value.Number}]", "1;" + StatusColor(s.Claim.Value.Status)));
            }
            if (i == runes.Length) break;
            var covering = spans.Where(s => s.Start <= i && i < s.End).ToList();
            var style = new List<string>();
            if (covering.Any(s => s.Claim is null)) style.Add("48;5;238");
            // The innermost claim (latest start) decides the colour.
            if (covering.Where(s => s.Claim is not null).OrderByDescending(s => s.Start).FirstOrDefault() is { } claim)
            {
                style.Add("4");
                style.Add(StatusColor(claim.Claim!.Value.Status));
            }
            var code = style.Count == 0 ? "" : $"\u001b[{string.Join(';', style)}m";
            if (code != current)
            {
                sb.Append(Reset).Append(code);
                current = code;
            }
            sb.Append(runes[i]);
        }
        sb.Append(Reset);
    }

    private static string Paint(string text, string code) => $"\u001b[{code}m{text}{Reset}";

    public static string StatusColor(ClaimStatus status) => status switch
    {
        ClaimStatus.Supported => "32",
        ClaimStatus.Refuted => "31",
        ClaimStatus.Contested => "35",
        ClaimStatus.NeedsContext => "33",
        ClaimStatus.Unverifiable => "36",
        ClaimStatus.Adjudicated => "97",
        _ => "34",
    };
}
