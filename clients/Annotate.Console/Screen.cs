using Annotate.Contracts.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Annotate.ConsoleApp;

/// <summary>
/// Draws an <see cref="ArticleState"/>: a header line, the article text with claims coloured by
/// consensus status and highlights underlined, the claims panel with live tallies, and the selected
/// claim's details. Rendering reads the state only, except that it scrolls the article to a newly
/// selected claim.
/// </summary>
public sealed class Screen
{
    private const int HeaderRows = 3, FooterRows = 11, ClaimsColumns = 60;
    private TextLayout? _layout;
    private Article? _laidOut;
    private string? _revealed;

    public IRenderable Render(ArticleState state, int width, int height)
    {
        var articleWidth = Math.Max(20, width - ClaimsColumns - 4);
        var bodyRows = Math.Max(5, height - HeaderRows - FooterRows);
        if (_layout is null || _layout.Width != articleWidth || !ReferenceEquals(_laidOut, state.Article))
        {
            // A new revision's text moves the spans: lay it out again and scroll to the selected claim where it is now.
            if (_laidOut is not null && !ReferenceEquals(_laidOut, state.Article)) _revealed = null;
            _layout = new TextLayout(state.Article.Text, articleWidth);
            _laidOut = state.Article;
        }
        var selected = state.Selected;
        RevealSelection(state, selected, bodyRows - 2);

        var root = new Layout("root").SplitRows(
            new Layout("header").Size(HeaderRows),
            new Layout("body").SplitColumns(new Layout("article"), new Layout("claims").Size(ClaimsColumns)),
            new Layout("footer").Size(FooterRows));
        root["header"].Update(Header(state));
        root["article"].Update(
            state.ShowTimeline ? TimelinePanel(state.Timeline, selected, bodyRows - 2)
            : state.ShowEvidence ? EvidencePanel(selected)
            : ArticlePanel(state, selected, bodyRows - 2));
        root["claims"].Update(ClaimsPanel(state, selected, bodyRows - 2));
        root["footer"].Update(Details(state, selected));
        return root;
    }

    public static Color StatusColor(ClaimStatus status) => status switch
    {
        ClaimStatus.Supported => Color.Green,
        ClaimStatus.Refuted => Color.Red,
        ClaimStatus.NeedsContext => Color.DarkOrange,
        ClaimStatus.Unverifiable => Color.Grey,
        ClaimStatus.Contested => Color.Fuchsia,
        ClaimStatus.Adjudicated => Color.DeepSkyBlue1,
        _ => Color.Yellow,
    };

    public static string StatusName(ClaimStatus status) => status switch
    {
        ClaimStatus.NeedsContext => "needs context",
        ClaimStatus.Unspecified => "unknown",
        _ => status.ToString().ToLowerInvariant(),
    };

    public static string StanceName(Stance stance) => stance switch
    {
        Stance.Supports => "supports",
        Stance.Refutes => "refutes",
        Stance.NeedsContext => "needs context",
        Stance.Unverifiable => "unverifiable",
        _ => "none",
    };

    /// <summary>"supports 1  refutes 2  context 0  unverifiable 0": every stance, zeros included.</summary>
    public static string Tallies(ClaimView claim)
    {
        uint Count(Stance s) => claim.Tallies.FirstOrDefault(t => t.Stance == s)?.Count ?? 0;
        return $"supports {Count(Stance.Supports)}  refutes {Count(Stance.Refutes)}  context {Count(Stance.NeedsContext)}  unverifiable " +
               $"{Count(Stance.Unverifiable)}";
    }

    /// <summary>
    /// Where a span stands after the article's revisions, for the claims panel and the details: "on revision 2", "re-anchored on
    /// revision 2 (fuzzy 0.95)" or "ORPHANED on revision 2: why" (its span is on an older text and is not drawn).
    /// </summary>
    public static string AnchorText(AnchorState? a) => a?.Status switch
    {
        AnchorStatus.Reanchored => string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"re-anchored on revision {a.Revision} ({a.Method.ToString().ToLowerInvariant()} {a.Score:0.00})"),
        AnchorStatus.Orphaned => $"ORPHANED on revision {a.OrphanedOnRevision}: {a.Reason}",
        _ => $"on revision {Math.Max(1u, a?.Revision ?? 1)}",
    };

    private static bool Moved(AnchorState? a) => a?.Status is AnchorStatus.Reanchored or AnchorStatus.Orphaned;

    private void RevealSelection(ArticleState state, ClaimView? selected, int visibleRows)
    {
        if (selected is null || selected.ClaimId == _revealed || _layout is null || !state.OnText(selected.Anchor)) return;
        _revealed = selected.ClaimId;
        var line = _layout.LineOf((int)selected.Selector.Position.Start);
        if (line < state.Scroll || line >= state.Scroll + visibleRows) state.ScrollTo(line - visibleRows / 3);
    }

    private static Panel Header(ArticleState state)
    {
        var link = state.Link switch
        {
            LinkState.Live => $"[green]● live[/] at position {state.Position}",
            LinkState.Connecting => "[yellow]○ connecting[/]",
            _ => $"[red]○ {Markup.Escape(state.LinkDetail)}[/]",
        };
        var highlights = state.Highlights.Count == 1 ? "1 highlight" : $"{state.Highlights.Count} highlights";
        var orphaned = state.Highlights.Count(h => h.Anchor?.Status == AnchorStatus.Orphaned);
        var orphans = orphaned == 0 ? "" : $" [red]({orphaned} orphaned)[/]";
        var revision = state.Article.Revision > 1 ? $"  [grey]revision {state.Article.Revision}[/]" : "";
        var text = $"{link}  [grey]{highlights}[/]{orphans}{revision}  [bold]{Markup.Escape(state.Article.Title)}[/]  " +
                   $"[grey]{Markup.Escape(state.Article.ArticleId)}[/]";
        return new Panel(new Markup(text).Overflow(Overflow.Ellipsis)).Expand().Border(BoxBorder.Rounded).Header("Annotate");
    }

    private Panel ArticlePanel(ArticleState state, ClaimView? selected, int rows)
    {
        var layout = _layout!;
        // Only spans on the text shown are drawn: orphans point into an older revision's text.
        var claims = state.Claims.Where(c => state.OnText(c.Anchor)).ToList();
        var highlights = state.Highlights.Where(h => state.OnText(h.Anchor)).ToList();
        if (selected is not null && !state.OnText(selected.Anchor)) selected = null;
        var scroll = Math.Min(state.Scroll, Math.Max(0, layout.Lines.Count - rows));
        var text = new Paragraph();
        for (var l = scroll; l < Math.Min(layout.Lines.Count, scroll + rows); l++)
        {
            var (start, end) = layout.Lines[l];
            var runStart = start;
            Style? runStyle = null;
            for (var i = start; i <= end; i++)
            {
                var style = i < end ? StyleAt(i, claims, highlights, selected) : null;
                if (i < end && i > runStart && Equals(style, runStyle)) continue;
                if (i > runStart) text.Append(layout.Slice(runStart, i), runStyle ?? Style.Plain);
                runStart = i;
                runStyle = style;
            }
            text.Append("\n");
        }
        var position = $"lines {scroll + 1}-{Math.Min(layout.Lines.Count, scroll + rows)} of {layout.Lines.Count}";
        return new Panel(text).Expand().Header("Article").Border(BoxBorder.Rounded).Padding(1, 0)
            .BorderColor(Color.Grey).Header(new PanelHeader($" Article · {position} "));
    }

    // A claim's colour wins over a highlight; the selected claim is drawn inverted; highlights are underlined.
    private static Style? StyleAt(int offset, IReadOnlyList<ClaimView> claims, IReadOnlyList<Highlight> highlights, ClaimView? selected)
    {
        var highlighted = highlights.Any(h => h.Selector.Position.Start <= offset && offset < h.Selector.Position.End);
        var decoration = highlighted ? Decoration.Underline : Decoration.None;
        if (selected is not null && Covers(selected, offset))
            return new Style(Color.Black, StatusColor(selected.Status), decoration | Decoration.Bold);
        var claim = claims.FirstOrDefault(c => Covers(c, offset));
        if (claim is not null) return new Style(StatusColor(claim.Status), decoration: decoration | Decoration.Bold);
        if (highlighted) return new Style(Color.Cyan1, decoration: decoration);
        return null;
    }

    private static bool Covers(ClaimView claim, int offset) =>
        claim.Selector.Position.Start <= offset && offset < claim.Selector.Position.End;

    private static Panel ClaimsPanel(ArticleState state, ClaimView? selected, int rows)
    {
        var claims = state.Claims;
        var lines = new List<IRenderable>();
        var index = claims.ToList().FindIndex(c => c.ClaimId == selected?.ClaimId);
        // Once a revision moved or orphaned a span, every claim gets a line saying which revision its span is on.
        var anchors = claims.Any(c => Moved(c.Anchor));
        var perClaim = anchors ? 4 : 3;
        var first = Math.Max(0, Math.Min(index - rows / perClaim / 2, claims.Count - rows / perClaim));
        for (var i = first; i < claims.Count && lines.Count + perClaim <= rows; i++)
        {
            var c = claims[i];
            var marker = c.ClaimId == selected?.ClaimId ? "[bold]›[/]" : " ";
            var color = StatusColor(c.Status).ToMarkup();
            var status =
                StatusName(c.Status)
                + (c.Status == ClaimStatus.Adjudicated ? $": {StanceName(c.Adjudication?.Verdict ?? Stance.Unspecified)}" : "");
            // One line per claim heading: truncate here, since Spectre would wrap at word boundaries.
            var room = ClaimsColumns - 4 - 2 - status.Length - 1;
            lines.Add(new Markup($"{marker} [{color} bold]{status}[/] {Markup.Escape(Short(c.Statement, Math.Max(8, room)))}"));
            lines.Add(new Markup($"  [grey]{Markup.Escape(Tallies(c))}[/]").Overflow(Overflow.Ellipsis));
            if (anchors)
            {
                var anchorColor = c.Anchor?.Status == AnchorStatus.Orphaned ? "red" : "grey";
                lines.Add(new Markup($"  [{anchorColor}]{Markup.Escape(Short(AnchorText(c.Anchor), ClaimsColumns - 4 - 2))}[/]"));
            }
            lines.Add(new Text(""));
        }
        if (claims.Count == 0) lines.Add(new Markup("[grey]No claims yet: press [bold]o[/] to open one.[/]"));
        return new Panel(new Rows(lines)).Expand().Border(BoxBorder.Rounded).Padding(1, 0)
            .Header(new PanelHeader($" Claims ({claims.Count}) "));
    }

    private static Panel Details(ArticleState state, ClaimView? c)
    {
        var lines = new List<IRenderable>();
        if (c is null)
        {
            lines.Add(new Markup("[grey]No claim selected.[/]"));
        }
        else
        {
            lines.Add(new Markup($"[bold]“{Markup.Escape(Short(c.Statement, 200))}”[/]  " +
                $"[{StatusColor(c.Status).ToMarkup()}]{StatusName(c.Status)}[/]  agreement {Math.Round(c.Agreement * 100):0}%, quorum " +
                $"{c.Quorum}").Overflow(Overflow.Ellipsis));
            if (Moved(c.Anchor) || state.Article.Revision > 1)
            {
                var orphan = c.Anchor?.Status == AnchorStatus.Orphaned;
                var where = orphan ? $" (its span is on revision {c.Anchor!.Revision}'s text, not shown)" : "";
                lines.Add(new Markup($"[{(orphan ? "red" : "grey")}]span {Markup.Escape(AnchorText(c.Anchor))}{Markup.Escape(where)}[/]")
                    .Overflow(Overflow.Ellipsis));
            }
            if (c.Adjudication is { } adj)
            {
                lines.Add(new Markup($"[deepskyblue1]adjudicated {StanceName(adj.Verdict)} by {Markup.Escape(adj.Adjudicator)}[/]: " +
                                     $"{Markup.Escape(adj.Rationale)}").Overflow(Overflow.Ellipsis));
            }

            // At most four stances, within what the panel has left after the lines above and the tags line; a line says how many more.
            var room = Math.Min(4, FooterRows - 4 - lines.Count - (c.Tags.Count > 0 ? 1 : 0));
            var shown = c.Stances.Count <= room ? c.Stances.Count : Math.Max(0, room - 1);
            foreach (var s in c.Stances.Take(shown))
            {
                lines.Add(new Markup($"  {Markup.Escape(s.Analyst)} [bold]{StanceName(s.Stance)}[/]: {Markup.Escape(s.Rationale)}  " +
                                     $"[grey]{s.Evidence.Count} evidence[/]").Overflow(Overflow.Ellipsis));
            }

            if (c.Stances.Count > shown) lines.Add(new Markup($"  [grey]… {c.Stances.Count - shown} more (e: evidence view)[/]"));
            if (c.Tags.Count > 0)
            {
                lines.Add(
                    new Markup("  tags: " + string.Join(", ", c.Tags.Select(t => $"{Markup.Escape(t.Tag)} ({t.Analysts.Count})"))).Overflow(
                        Overflow.Ellipsis));
            }
        }
        while (lines.Count < FooterRows - 4) lines.Add(new Text(""));
        lines.Add(new Markup($"[grey]{Markup.Escape(state.Message ?? "")}[/]").Overflow(Overflow.Ellipsis));
        lines.Add(new Markup("[bold]↑↓[/] claim  [bold]PgUp/PgDn[/] scroll  [bold]o[/] open claim  [bold]s[/] stance  [bold]h[/] " +
                             "highlight  [bold]e[/] evidence  [bold]t[/] timeline  [bold]a[/] article  [bold]q[/] quit"));
        return new Panel(new Rows(lines)).Expand().Border(BoxBorder.Rounded).Padding(1, 0)
            .Header(new PanelHeader(c is null ? " Claim " : $" Claim {c.ClaimId} · by {c.OpenedBy} · v{c.Version} "));
    }

    private static Panel EvidencePanel(ClaimView? c)
    {
        var lines = new List<IRenderable>();
        if (c is null)
        {
            lines.Add(new Markup("[grey]No claim selected.[/]"));
        }
        else
        {
            lines.Add(new Markup($"[bold]“{Markup.Escape(c.Statement)}”[/]"));
            lines.Add(new Text(""));
            foreach (var s in c.Stances)
            {
                lines.Add(new Markup($"[bold]{Markup.Escape(s.Analyst)}[/] {StanceName(s.Stance)}: {Markup.Escape(s.Rationale)}"));
                foreach (var e in c.Evidence.Where(e => e.Analyst == s.Analyst))
                {
                    var q = e.Span.Selector.Quote;
                    lines.Add(new Markup($"    [grey]{Markup.Escape(e.Span.ArticleId)}[/] " +
                        $"…{Markup.Escape(Short(q?.Prefix ?? "", 40))}" +
                        $"[bold underline]{Markup.Escape(Short(q?.Exact ?? "", 120))}[/]{Markup.Escape(Short(q?.Suffix ?? "", 40))}…"));
                }
            }
            if (c.Stances.Count == 0) lines.Add(new Markup("[grey]No stances yet.[/]"));
        }
        return new Panel(new Rows(lines))
            .Expand()
            .Border(BoxBorder.Rounded)
            .Padding(1, 0)
            .Header(new PanelHeader(" Evidence (e: back to the text) "));
    }

    /// <summary>
    /// The selected claim's timeline (Audit.GetClaimTimeline): each change of its status, leading stance or agreement with the
    /// event that caused it, newest at the bottom (the last that fit), then why it has its status now.
    /// </summary>
    public static Panel TimelinePanel(ClaimTimeline? t, ClaimView? selected, int rows)
    {
        var lines = new List<IRenderable>();
        if (selected is null)
        {
            lines.Add(new Markup("[grey]No claim selected.[/]"));
        }
        else if (t is null || t.ClaimId != selected.ClaimId)
        {
            lines.Add(new Markup("[grey]Loading the timeline…[/]"));
        }
        else
        {
            var why = new List<IRenderable>
            {
                new Text(""),
                new Markup($"[bold]why {StatusName(t.Why.Status)}[/]: {Markup.Escape(t.Why.Explanation)}").Overflow(Overflow.Ellipsis),
            };
            if (t.Why.Adjudication is { } a)
            {
                why.Add(new Markup(
                        $"  verdict {StanceName(a.Verdict)} by {Markup.Escape(a.Adjudicator)}: "
                        + $"{Markup.Escape(Short(a.Rationale, 120))}")
                    .Overflow(Overflow.Ellipsis));
            }
            foreach (var s in t.Why.Stances)
            {
                why.Add(new Markup($"  {Markup.Escape(s.Analyst)} {StanceName(s.Stance)}: {Markup.Escape(Short(s.Rationale, 120))}")
                    .Overflow(Overflow.Ellipsis));
            }
            var room = Math.Max(1, rows - why.Count);
            var shown = t.Entries.Skip(Math.Max(0, t.Entries.Count - room)).ToList();
            if (shown.Count < t.Entries.Count) lines.Add(new Markup($"[grey]… {t.Entries.Count - shown.Count} earlier changes[/]"));
            foreach (var e in shown.Skip(shown.Count < t.Entries.Count ? 1 : 0))
            {
                lines.Add(new Markup(TimelineLine(e)).Overflow(Overflow.Ellipsis));
            }
            lines.AddRange(why.Take(Math.Max(0, rows - lines.Count)));
        }
        var through = t is not null && t.ClaimId == selected?.ClaimId ? $" through {t.ThroughPosition}" : "";
        return new Panel(new Rows(lines)).Expand().Border(BoxBorder.Rounded).Padding(1, 0)
            .Header(new PanelHeader($" Timeline{through} (t: back to the text) "));
    }

    /// <summary>"#12 05:56:43 aigerim stance-taken.v1 pending -> refuted · lead refutes · 67%": one change.</summary>
    public static string TimelineLine(TimelineEntry e)
    {
        var status = e.Before.Status == ClaimStatus.Unspecified ? $"opened {StatusName(e.After.Status)}"
            : e.Before.Status == e.After.Status ? StatusName(e.After.Status)
            : $"{StatusName(e.Before.Status)} -> {StatusName(e.After.Status)}";
        var color = StatusColor(e.After.Status).ToMarkup();
        var time = e.RecordedAt?.ToDateTime().ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) ?? "";
        return $"#{e.Position} [grey]{time}[/] {Markup.Escape(e.Analyst)} [grey]{Markup.Escape(e.EventType)}[/] "
               + $"[{color}]{status}[/] · lead {StanceName(e.After.LeadingStance)} · {Math.Round(e.After.Agreement * 100):0}%";
    }

    private static string Short(string s, int max)
    {
        s = string.Join(' ', s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return s.Length <= max ? s : s[..(max - 1)] + "…";
    }
}
