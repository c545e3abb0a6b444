using Annotate.Domain.Anchoring;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Anchoring;

public sealed class ReanchorTests
{
    private const string Old =
        "The council met on Tuesday. The mayor said the bridge would reopen in May. Residents were sceptical. " +
        "Engineers found cracks in two pillars last winter.";

    /// <summary>A span as the server stores it: resolved on the old text.</summary>
    private static AnchoredSpan On(string text, string quote, string? prefix = null)
    {
        var a = Anchor.Resolve(new TextDocument(text), Selector.ForQuote(quote, prefix)).Value;
        return new AnchoredSpan(AnchorKind.Highlight, "h1", a.Start, a.End, a.Exact, a.Prefix, a.Suffix);
    }

    private static ResolvedAnchor Placed(Placement p, ReanchorMethod method)
    {
        Assert.True(p.Placed, p.OrphanReason);
        Assert.Equal(method, p.Method);
        return p.Anchor!;
    }

    [Fact]
    public void An_unchanged_passage_stays_where_it_was_with_full_confidence()
    {
        var span = On(Old, "the bridge would reopen in May");
        var p = Reanchor.Place(new TextDocument(Old + " Updated."), span);
        var a = Placed(p, ReanchorMethod.Position);
        Assert.Equal((span.Start, span.End), (a.Start, a.End));
        Assert.Equal(1, p.Score);
    }

    [Fact]
    public void Text_inserted_before_the_passage_moves_it_by_the_inserted_length()
    {
        var span = On(Old, "the bridge would reopen in May");
        const string inserted = "Correction appended on Friday. ";
        var next = new TextDocument(inserted + Old);
        var p = Reanchor.Place(next, span);
        var a = Placed(p, ReanchorMethod.Quote);
        Assert.Equal((span.Start + inserted.Length, span.End + inserted.Length), (a.Start, a.End));
        Assert.Equal("the bridge would reopen in May", a.Exact);
        Assert.Equal(1, p.Score);
    }

    [Fact]
    public void Joined_line_wraps_and_typographic_quotes_do_not_lose_the_passage()
    {
        const string wrapped = "Intro line.\nThe mayor said \"the bridge\nwould reopen\" in May.\nMore.";
        var span = On(wrapped, "\"the bridge\nwould reopen\"");
        var next = new TextDocument("Intro line. The mayor said “the bridge would reopen” in May. More.");
        var a = Placed(Reanchor.Place(next, span), ReanchorMethod.Quote);
        Assert.Equal("“the bridge would reopen”", a.Exact);
    }

    [Fact]
    public void An_edited_passage_is_found_between_its_unchanged_context_with_a_lower_score()
    {
        var span = On(Old, "The mayor said the bridge would reopen in May.");
        var next = new TextDocument(Old.Replace("would reopen in May", "would reopen in late June", StringComparison.Ordinal));
        var p = Reanchor.Place(next, span);
        var a = Placed(p, ReanchorMethod.Fuzzy);
        Assert.Equal("The mayor said the bridge would reopen in late June.", a.Exact);
        Assert.InRange(p.Score, Reanchor.MinSimilarity, 0.99);
    }

    [Fact]
    public void A_passage_rewritten_beyond_recognition_is_orphaned_not_guessed()
    {
        var span = On(Old, "The mayor said the bridge would reopen in May.");
        var next = new TextDocument(Old.Replace("The mayor said the bridge would reopen in May.", "No date was given by officials at all.",
            StringComparison.Ordinal));
        var p = Reanchor.Place(next, span);
        Assert.False(p.Placed);
        Assert.Contains("rewritten", p.OrphanReason);
    }

    [Fact]
    public void A_deleted_passage_is_orphaned()
    {
        var span = On(Old, "Residents were sceptical.");
        var p = Reanchor.Place(new TextDocument(Old.Replace(" Residents were sceptical.", "", StringComparison.Ordinal)), span);
        Assert.False(p.Placed);
        Assert.Contains("removed", p.OrphanReason);
    }

    [Fact]
    public void A_deleted_paragraph_with_its_context_is_orphaned()
    {
        const string text = "First paragraph stays here.\n\nSecond paragraph with the claim that taxes rose.\n\nThird paragraph ends it.";
        var span = On(text, "taxes rose");
        var p = Reanchor.Place(new TextDocument("First paragraph stays here.\n\nThird paragraph ends it."), span);
        Assert.False(p.Placed);
        Assert.Contains("no longer occurs", p.OrphanReason);
    }

    [Fact]
    public void A_quote_now_appearing_twice_follows_the_copy_that_kept_its_context()
    {
        var span = On(Old, "cracks in two pillars");
        var next = new TextDocument("Inspectors later disputed the cracks in two pillars claim. " + Old);
        var a = Placed(Reanchor.Place(next, span), ReanchorMethod.Quote);
        Assert.Equal(next.Text.IndexOf("Engineers found cracks", StringComparison.Ordinal) + "Engineers found ".Length, a.Start);
    }

    [Fact]
    public void A_quote_appearing_twice_with_the_same_context_is_orphaned_as_ambiguous()
    {
        var span = On(Old, "Residents were sceptical.");
        var next = new TextDocument(Old.Replace("Residents were sceptical.", "Residents were sceptical. Residents were sceptical.",
            StringComparison.Ordinal));
        var p = Reanchor.Place(next, span);
        Assert.False(p.Placed);
        Assert.Contains("occurs at 2 places", p.OrphanReason);
    }

    [Fact]
    public void A_short_quote_whose_context_all_changed_is_orphaned_even_if_it_occurs_once()
    {
        var span = On(Old, "May");
        var next = new TextDocument("Completely new article. It mentions May once, in passing, and nothing else from before.");
        var p = Reanchor.Place(next, span);
        Assert.False(p.Placed);
    }

    [Fact]
    public void A_long_quote_that_occurs_once_is_kept_even_in_a_moved_paragraph_with_new_context()
    {
        const string text = "Alpha paragraph.\n\nEngineers found cracks in two pillars last winter, the report says.\n\nOmega paragraph.";
        var span = On(text, "Engineers found cracks in two pillars last winter, the report says.");
        var next = new TextDocument(
            "Something else entirely at the start.\n\nEngineers found cracks in two pillars last winter, the report says.");
        var p = Reanchor.Place(next, span);
        var a = Placed(p, ReanchorMethod.Quote);
        Assert.Equal("Engineers found cracks in two pillars last winter, the report says.", a.Exact);
        Assert.True(p.Score < 1);
    }

    [Fact]
    public void Offsets_are_code_points_so_an_emoji_inserted_before_shifts_by_one()
    {
        var span = On(Old, "the bridge would reopen in May");
        var next = new TextDocument("🌉 " + Old);
        var a = Placed(Reanchor.Place(next, span), ReanchorMethod.Quote);
        Assert.Equal((span.Start + 2, span.End + 2), (a.Start, a.End));
        Assert.Equal("the bridge would reopen in May", a.Exact);
    }

    [Fact]
    public void An_edited_passage_with_astral_characters_maps_back_to_code_points()
    {
        const string text = "Header 😀😀 line here. The 🐍 snake ate 3 mice today. Footer 😀 sentence here.";
        var span = On(text, "The 🐍 snake ate 3 mice today.");
        var next = new TextDocument("Header 😀😀 line here. The 🐍 snake ate 4 mice today. Footer 😀 sentence here.");
        var p = Reanchor.Place(next, span);
        var a = Placed(p, ReanchorMethod.Fuzzy);
        Assert.Equal("The 🐍 snake ate 4 mice today.", a.Exact);
        Assert.Equal(a.Exact, next.Slice(a.Start, a.End));
        Assert.Equal(span.Start, a.Start);
    }

    [Fact]
    public void The_same_inputs_always_place_the_same_way()
    {
        var span = On(Old, "Residents were sceptical.");
        var next = new TextDocument("New lead. " + Old);
        Assert.Equal(Reanchor.Place(next, span), Reanchor.Place(next, span));
    }
}
