using System.Globalization;
using System.Text;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Infrastructure;

/// <summary>Human renderings shared by several commands.</summary>
public static class Text
{
    /// <summary>Where a command's effect landed, and the receipt `annotate audit verify --receipt` can check later.</summary>
    public static string Result(CommandResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var dedup = r.Deduplicated ? " (already done: same request id, nothing new written)" : "";
        return $"position {r.Position}, receipt {r.Position}:{r.ReceiptHash}{dedup}";
    }

    public static string Span(Selector s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var range = s.Position is null ? "" : $"[{s.Position.Start},{s.Position.End}) ";
        return range + (s.Quote is null ? "" : Quote(s.Quote.Exact));
    }

    /// <summary>Which revision a span is on and how it got there, e.g. "revision 2, re-anchored by quote (score 0.95)" or
    /// "revision 1, ORPHANED on revision 2: the quote no longer occurs".</summary>
    public static string Anchor(AnchorState? a)
    {
        if (a is null || a.Revision == 0) return "-";
        return a.Status switch
        {
            AnchorStatus.Reanchored =>
                $"revision {a.Revision}, re-anchored by {Parsing.Name(a.Method)} "
                + $"(score {a.Score.ToString("0.###", CultureInfo.InvariantCulture)})",
            AnchorStatus.Orphaned => $"revision {a.Revision}, ORPHANED on revision {a.OrphanedOnRevision}: {a.Reason}",
            AnchorStatus.Reattached => $"revision {a.Revision}, reattached by {a.ReattachedBy}",
            _ => $"revision {a.Revision}",
        };
    }

    public static string Quote(string text, int max = 80)
    {
        var flat = string.Join(' ', (text ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return "\"" + (flat.Length > max ? flat[..(max - 1)] + "…" : flat) + "\"";
    }

    public static string Tallies(ClaimView v)
    {
        ArgumentNullException.ThrowIfNull(v);
        return v.Tallies.Count == 0 ? "no stances" : string.Join(", ", v.Tallies.Select(t => $"{Parsing.Name(t.Stance)} {t.Count}"));
    }

    public static string Time(Google.Protobuf.WellKnownTypes.Timestamp? t) =>
        t is null ? "-" : t.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A thread as a tree: each reply under the one it answers, in the order posted.</summary>
    public static string Thread(IReadOnlyList<Reply> replies)
    {
        ArgumentNullException.ThrowIfNull(replies);
        var sb = new StringBuilder();
        var ids = replies.Select(r => r.ReplyId).ToHashSet(StringComparer.Ordinal);
        void Write(Reply r, int depth)
        {
            var text = r.Retracted ? "(retracted)" : r.Body.ReplaceLineEndings(" ");
            var edited = r.Earlier.Count > 0 ? $" (edited {r.Earlier.Count}x)" : "";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"  {new string(' ', 2 * depth)}- {r.ReplyId} {r.Author} at {Time(r.PostedAt)}{edited}: {text}");
            foreach (var answer in replies.Where(a => a.ParentId == r.ReplyId)) Write(answer, depth + 1);
        }
        foreach (var top in replies.Where(r => r.ParentId.Length == 0 || !ids.Contains(r.ParentId))) Write(top, 0);
        return sb.ToString().TrimEnd();
    }

    public static string Claim(ClaimView v)
    {
        ArgumentNullException.ThrowIfNull(v);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"claim {v.ClaimId} in {v.ArticleId} (version {v.Version}, position {v.LastPosition})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  statement: {v.Statement}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  span:      {Span(v.Selector)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  anchor:    {Anchor(v.Anchor)}");
        // A hidden view has no status to print (the server left it unset), so the line says why instead.
        var status = v.Hidden
            ? $"blind: hidden from you until you take your own stance (quorum {v.Quorum})"
            : string.Create(
                CultureInfo.InvariantCulture,
                $"{Parsing.Name(v.Status)} (agreement {v.Agreement:0.###}, quorum {v.Quorum}, threshold {v.Threshold:0.###})") +
              (v.Blind ? ", blind" : "");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  status:    {status}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  tallies:   {Tallies(v)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"  opened by: {v.OpenedBy}; contributors: {string.Join(", ", v.Contributors)}");
        foreach (var s in v.Stances)
        {
            sb.AppendLine(
                CultureInfo.InvariantCulture,
                $"  - {s.Analyst}: {Parsing.Name(s.Stance)}{(s.Rationale.Length > 0 ? " — " + s.Rationale : "")}");
        }

        foreach (var e in v.Evidence)
        {
            var on = e.Anchor is { Revision: > 0 } ? $" [{Anchor(e.Anchor)}]" : "";
            sb.AppendLine(
                CultureInfo.InvariantCulture,
                $"  evidence ({e.Analyst}, {Parsing.Name(e.Stance)}): {e.Span.ArticleId} {Span(e.Span.Selector)}{on}");
        }

        if (v.Tags.Count > 0)
        {
            sb.AppendLine(
                CultureInfo.InvariantCulture,
                $"  tags:      {string.Join(", ", v.Tags.Select(t => $"{t.Tag} ({t.Analysts.Count})"))}");
        }

        if (v.Adjudication is { } a)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  verdict:   {Parsing.Name(a.Verdict)} by {a.Adjudicator} at " +
                                                        $"{Time(a.AdjudicatedAt)}{(a.Rationale.Length > 0 ? " — " + a.Rationale : "")}");
        }

        return sb.ToString().TrimEnd();
    }

    public static string Event(HistoryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var about = e.ClaimId.Length > 0 ? $" claim {e.ClaimId}" : e.ArticleId.Length > 0 ? $" article {e.ArticleId}" : "";
        return $"{e.Position,6}  {Time(e.RecordedAt)}  {e.Type,-24} {e.Actor,-12} {e.StreamId}@{e.StreamVersion}{about}";
    }
}
