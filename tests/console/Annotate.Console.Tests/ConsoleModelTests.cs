using Annotate.ConsoleApp;
using Annotate.Contracts.V1;
using Spectre.Console;

namespace Annotate.Console.Tests;

public sealed class TextLayoutTests
{
    [Fact]
    public void Lines_wrap_at_spaces_and_never_exceed_the_width()
    {
        var layout = new TextLayout("the quick brown fox jumps over the lazy dog", 12);
        Assert.All(layout.Lines, l => Assert.True(l.End - l.Start <= 12));
        Assert.Equal(["the quick", "brown fox", "jumps over", "the lazy dog"], layout.Lines.Select(l => layout.Slice(l.Start, l.End)));
    }

    [Fact]
    public void Line_breaks_of_the_text_start_new_lines_and_words_longer_than_the_width_are_cut()
    {
        var layout = new TextLayout("short\nabcdefghijklmnopqrstuvwxyz", 10);
        Assert.Equal(["short", "abcdefghij", "klmnopqrst", "uvwxyz"], layout.Lines.Select(l => layout.Slice(l.Start, l.End)));
    }

    [Fact]
    public void Offsets_count_code_points_so_a_character_outside_the_BMP_is_one_position()
    {
        var layout = new TextLayout("a😀b claim here", 40);
        Assert.Equal(14, layout.Runes.Length);
        Assert.Equal("claim", layout.Slice(4, 9));
        Assert.Equal(0, layout.LineOf(4));
    }

    [Fact]
    public void LineOf_finds_the_line_showing_an_offset()
    {
        var layout = new TextLayout("one two three four five six", 10);
        Assert.Equal(["one two", "three four", "five six"], layout.Lines.Select(l => layout.Slice(l.Start, l.End)));
        Assert.Equal(1, layout.LineOf("one two three".Length));
        Assert.Equal(2, layout.LineOf("one two three four fi".Length));
        Assert.Equal(2, layout.LineOf(1000));
    }
}

public sealed class ArticleStateTests
{
    private static ClaimView View(string id, uint start, ulong position, params (Stance Stance, uint Count)[] tallies)
    {
        var v = new ClaimView
        {
            ClaimId = id,
            Statement = id,
            LastPosition = position,
            Status = ClaimStatus.Pending,
            Selector = new Selector { Position = new TextPosition { Start = start, End = start + 5 } },
        };
        v.Tallies.AddRange(tallies.Select(t => new StanceTally { Stance = t.Stance, Count = t.Count }));
        return v;
    }

    [Fact]
    public void Caught_up_views_replace_everything_and_mark_the_link_live()
    {
        var state = new ArticleState(new Article { ArticleId = "a", Text = "text" });
        state.CaughtUp([View("c2", 50, 7), View("c1", 10, 5)], 9);
        Assert.Equal(LinkState.Live, state.Link);
        Assert.Equal(["c1", "c2"], state.Claims.Select(c => c.ClaimId));
        Assert.Equal("c1", state.SelectedClaimId);
        Assert.Equal(9ul, state.Position);

        state.Disconnected("reconnecting");
        state.CaughtUp([View("c3", 0, 12)], 12);
        Assert.Equal(["c3"], state.Claims.Select(c => c.ClaimId));
    }

    [Fact]
    public void An_older_view_never_replaces_a_newer_one()
    {
        var state = new ArticleState(new Article { ArticleId = "a", Text = "text" });
        state.CaughtUp([], 1);
        state.Apply(View("c1", 0, 10, (Stance.Refutes, 2)));
        state.Apply(View("c1", 0, 8, (Stance.Refutes, 1)));
        Assert.Equal(2u, Assert.Single(state.Claims).Tallies.Single().Count);
    }

    [Fact]
    public void Every_change_raises_the_version_the_render_loop_watches()
    {
        var state = new ArticleState(new Article { ArticleId = "a", Text = "text" });
        var before = state.Version;
        state.Apply(View("c1", 0, 3));
        Assert.True(state.Version > before);
    }

    [Fact]
    public void Selection_moves_in_span_order_and_stops_at_the_ends()
    {
        var state = new ArticleState(new Article { ArticleId = "a", Text = "text" });
        state.CaughtUp([View("b", 20, 2), View("a", 10, 1), View("c", 30, 3)], 3);
        state.MoveSelection(+1);
        Assert.Equal("b", state.SelectedClaimId);
        state.MoveSelection(+5);
        Assert.Equal("c", state.SelectedClaimId);
        state.MoveSelection(-9);
        Assert.Equal("a", state.SelectedClaimId);
    }
}

public sealed class ScreenTests
{
    [Fact]
    public void Tallies_name_every_stance_with_zeros()
    {
        var view = new ClaimView { Tallies = { new StanceTally { Stance = Stance.Refutes, Count = 2 } } };
        Assert.Equal("supports 0  refutes 2  context 0  unverifiable 0", Screen.Tallies(view));
    }

    [Fact]
    public void The_screen_shows_the_text_the_claim_with_its_tallies_and_the_link_state()
    {
        var state = new ArticleState(
            new Article
            {
                ArticleId = "art",
                Title = "A title",
                Text = "Though Kazakhstan has a large Russian majority, relations are friendly.",
            });
        var claim = new ClaimView
        {
            ClaimId = "c1",
            Statement = "Kazakhstan has a large Russian majority",
            Status = ClaimStatus.Refuted,
            LastPosition = 4,
            Selector = new Selector { Position = new TextPosition { Start = 7, End = 46 } },
            Tallies = { new StanceTally { Stance = Stance.Refutes, Count = 2 }, new StanceTally { Stance = Stance.Supports, Count = 1 } },
            Stances = { new CurrentStance { Analyst = "aigerim", Stance = Stance.Refutes, Rationale = "about 20 percent" } },
        };
        state.CaughtUp([claim], 4);
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 140;
        console.Profile.Height = 30;
        console.Write(new Screen().Render(state, 140, 30));
        var output = writer.ToString();
        Assert.Contains("live at position 4", output);
        Assert.Contains("A title", output);
        Assert.Contains("Though Kazakhstan has a large Russian majority, relations are friendly.", output);
        Assert.Contains("refuted Kazakhstan has a large Russian majority", output);
        Assert.Contains("supports 1  refutes 2  context 0  unverifiable 0", output);
        Assert.Contains("aigerim refutes: about 20 percent", output);
    }
}

public sealed class TimelineTests
{
    private static ClaimView Claim(ulong lastPosition) => new()
    {
        ClaimId = "c1",
        Statement = "Kazakhstan has a large Russian majority",
        Status = ClaimStatus.Refuted,
        LastPosition = lastPosition,
        Selector = new Selector { Position = new TextPosition { Start = 7, End = 46 } },
    };

    private static ClaimTimeline Timeline(ulong through) => new()
    {
        ClaimId = "c1",
        ThroughPosition = through,
        Entries =
        {
            new TimelineEntry
            {
                Position = 3,
                Analyst = "aigerim",
                EventType = "claim-opened.v1",
                RecordedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(new DateTime(2026, 11, 29, 5, 56, 43, DateTimeKind.Utc)),
                Before = new ConsensusMoment(),
                After = new ConsensusMoment { Status = ClaimStatus.Pending },
            },
            new TimelineEntry
            {
                Position = 9,
                Analyst = "chen",
                EventType = "stance-taken.v1",
                Before = new ConsensusMoment { Status = ClaimStatus.Pending, LeadingStance = Stance.Refutes, Agreement = 1 },
                After = new ConsensusMoment { Status = ClaimStatus.Refuted, LeadingStance = Stance.Refutes, Agreement = 2.0 / 3 },
            },
        },
        Why = new StatusReason
        {
            Status = ClaimStatus.Refuted,
            Explanation = "2 of 3 current stances REFUTES",
            Stances = { new CurrentStance { Analyst = "aigerim", Stance = Stance.Refutes, Rationale = "census" } },
        },
    };

    [Fact]
    public void While_shown_the_timeline_is_fetched_for_the_selected_claim_and_again_once_the_claim_moved_past_it()
    {
        var state = new ArticleState(new Article { ArticleId = "art", Text = "Though Kazakhstan has a large Russian majority, yes." });
        state.CaughtUp([Claim(9)], 9);
        Assert.Null(state.TimelineToFetch());

        state.ToggleTimeline();
        Assert.Equal("c1", state.TimelineToFetch());
        state.SetTimeline(Timeline(through: 10));
        Assert.Null(state.TimelineToFetch());

        state.Apply(Claim(12)); // another analyst acted on the claim
        Assert.Equal("c1", state.TimelineToFetch());
        state.SetTimeline(Timeline(through: 8)); // an older answer arriving late is dropped
        Assert.Equal(10u, state.Timeline!.ThroughPosition);

        state.ToggleEvidence();
        Assert.False(state.ShowTimeline);
        Assert.Null(state.TimelineToFetch());
    }

    [Fact]
    public void The_timeline_panel_lists_each_change_with_its_event_and_why_the_claim_has_its_status()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 120;
        console.Write(Screen.TimelinePanel(Timeline(through: 10), Claim(9), rows: 20));
        var output = writer.ToString();

        Assert.Contains("Timeline through 10", output);
        Assert.Contains("#3 05:56:43 aigerim claim-opened.v1 opened pending", output);
        Assert.Contains("#9  chen stance-taken.v1 pending -> refuted · lead refutes · 67%", output);
        Assert.Contains("why refuted: 2 of 3 current stances REFUTES", output);
        Assert.Contains("aigerim refutes: census", output);
    }
}

public sealed class SettingsTests : IDisposable
{
    private readonly string _home = Directory.CreateTempSubdirectory("annotate-console-settings").FullName;
    private readonly Dictionary<string, string?> _saved = new()
    {
        ["XDG_CONFIG_HOME"] = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME"),
        ["ANNOTATE_SERVER"] = Environment.GetEnvironmentVariable("ANNOTATE_SERVER"),
        ["ANNOTATE_TOKEN"] = Environment.GetEnvironmentVariable("ANNOTATE_TOKEN"),
    };

    public SettingsTests()
    {
        Environment.SetEnvironmentVariable("XDG_CONFIG_HOME", _home);
        Environment.SetEnvironmentVariable("ANNOTATE_SERVER", null);
        Environment.SetEnvironmentVariable("ANNOTATE_TOKEN", null);
    }

    public void Dispose()
    {
        foreach (var (k, v) in _saved) Environment.SetEnvironmentVariable(k, v);
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public void Flags_win_over_environment_which_wins_over_the_config_file()
    {
        Directory.CreateDirectory(Path.Combine(_home, "annotate"));
        File.WriteAllText(Path.Combine(_home, "annotate", "config.json"), """{"server":"http://file:1","token":"file-token"}""");
        Assert.Equal(new Settings("http://file:1", "file-token", null), Settings.Resolve([]));

        Environment.SetEnvironmentVariable("ANNOTATE_SERVER", "http://env:2");
        Assert.Equal(new Settings("http://env:2", "file-token", null), Settings.Resolve([]));

        Assert.Equal(
            new Settings("http://flag:3", "flag-token", "art"),
            Settings.Resolve(["--server", "http://flag:3", "--token", "flag-token", "--article", "art"])
        );
    }

    [Fact]
    public void Without_any_setting_the_default_address_is_used_and_no_token()
    {
        Assert.Equal(new Settings(Settings.DefaultServer, null, null), Settings.Resolve([]));
    }

    [Fact]
    public void An_unknown_flag_is_a_usage_error()
    {
        Assert.Throws<ArgumentException>(() => Settings.Resolve(["--nope"]));
    }
}

public sealed class RevisionTests
{
    private const string Before = "Though Kazakhstan has a large Russian majority, relations are friendly. Twelve police officers died.";
    private const string After = "Though Kazakhstan has a large Russian minority, relations are friendly.";

    private static Article Revision(uint revision, string text) => new()
    {
        ArticleId = "art",
        Title = "A title",
        Text = text,
        Revision = revision,
        RevisionReason = revision > 1 ? "Minority, not majority" : "",
    };

    private static AnchorState Anchored(uint revision) => new() { Revision = revision, Status = AnchorStatus.Anchored };

    private static AnchorState Fuzzy(double score) =>
        new() { Revision = 2, Status = AnchorStatus.Reanchored, Method = ReanchorMethod.Fuzzy, Score = score };

    private static ClaimView Claim(string id, uint start, uint end, ulong position, AnchorState anchor) => new()
    {
        ClaimId = id,
        Statement = id,
        Status = ClaimStatus.Pending,
        LastPosition = position,
        Selector = new Selector { Position = new TextPosition { Start = start, End = end } },
        Anchor = anchor,
    };

    private static Highlight Highlight(string id, AnchorState anchor) => new()
    {
        HighlightId = id,
        Selector = new Selector { Position = new TextPosition { Start = 7, End = 46 } },
        Anchor = anchor,
    };

    private static string Draw(ArticleState state)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 160;
        console.Profile.Height = 40;
        console.Write(new Screen().Render(state, 160, 40));
        return writer.ToString();
    }

    [Fact]
    public void A_newer_revision_replaces_the_text_and_the_highlights_together_and_an_older_answer_is_dropped()
    {
        var state = new ArticleState(Revision(1, Before));
        state.SetHighlights([Highlight("h1", Anchored(1))], 5);
        var reanchored = Claim("c1", 7, 46, 20, new AnchorState { Revision = 2, Status = AnchorStatus.Reanchored });
        Assert.True(state.IsBehind(reanchored.Anchor));
        Assert.False(state.OnText(reanchored.Anchor)); // not drawn on the old text

        state.Revised(Revision(2, After), [Highlight("h1", new AnchorState { Revision = 1, Status = AnchorStatus.Orphaned })], 20);
        Assert.Equal(After, state.Article.Text);
        Assert.False(state.IsBehind(reanchored.Anchor));
        Assert.True(state.OnText(reanchored.Anchor));
        Assert.False(state.OnText(state.Highlights.Single().Anchor)); // orphaned: its span is on revision 1's text
        Assert.Equal("article revised to revision 2: Minority, not majority", state.Message);

        state.Revised(Revision(1, Before), [], 30);
        state.SetHighlights([], 10); // listed before the revision's reload
        Assert.Equal(After, state.Article.Text);
        Assert.Single(state.Highlights);
    }

    [Fact]
    public void After_a_revision_the_screen_shows_the_new_text_and_the_state_of_every_span_with_orphans_listed_last()
    {
        var state = new ArticleState(Revision(1, Before));
        state.CaughtUp([Claim("majority", 7, 46, 4, Anchored(1)), Claim("police", 72, 100, 5, Anchored(1))], 5);
        state.Revised(
            Revision(2, After),
            [
                Highlight("h1", Fuzzy(0.95)),
                Highlight("h2", new AnchorState { Revision = 1, Status = AnchorStatus.Orphaned, OrphanedOnRevision = 2 }),
            ],
            9);
        state.Apply(Claim("majority", 7, 46, 9, Fuzzy(0.949)));
        var orphaned = new AnchorState { Revision = 1, Status = AnchorStatus.Orphaned, OrphanedOnRevision = 2 };
        state.Apply(Claim("police", 72, 100, 9, new AnchorState(orphaned) { Reason = "the quote no longer occurs" }));

        Assert.Equal(["majority", "police"], state.Claims.Select(c => c.ClaimId));
        var output = Draw(state);
        Assert.Contains(After, output);
        Assert.DoesNotContain("Twelve police officers", output);
        Assert.Contains("2 highlights (1 orphaned)  revision 2", output);
        Assert.Contains("re-anchored on revision 2 (fuzzy 0.95)", output);
        Assert.Contains("ORPHANED on revision 2: the quote no longer occurs", output);
        Assert.Contains("span re-anchored on revision 2 (fuzzy 0.95)", output); // the selected claim's details
    }
}
