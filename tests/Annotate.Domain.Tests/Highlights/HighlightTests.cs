using Annotate.Domain.Anchoring;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.Domain.Highlights;
using Annotate.Domain.Tags;

namespace Annotate.Domain.Tests.Highlights;

public sealed class HighlightTests
{
    private static readonly TextDocument Doc = Seeds.Document(Seeds.TwentyPercentArticle);

    private static HighlightState Created(string author = "alice")
    {
        var events = Given.Ok(
            Highlight.Decide(
                HighlightState.Initial,
                new CreateHighlight(Seeds.TwentyPercentArticle, Doc, Selector.ForQuote("about 20 percent"), " note "),
                Given.Analyst(author, "h1")));
        return Given.Apply(HighlightState.Initial, Highlight.Evolve, events);
    }

    [Fact]
    public void Creating_a_highlight_stores_the_resolved_span_author_and_note()
    {
        var events = Given.Ok(
            Highlight.Decide(
                HighlightState.Initial,
                new CreateHighlight("a2", Doc, Selector.ForQuote("about 20 percent"), "why"),
                Given.Analyst("alice", "h1")));
        var e = Assert.IsType<HighlightCreated>(Assert.Single(events));
        Assert.Equal(("h1", "alice", "about 20 percent", "why"), (e.HighlightId, e.Analyst, e.Exact, e.Note));
        Assert.Equal("about 20 percent", Doc.Slice(e.Start, e.End));
    }

    [Fact]
    public void Creating_a_highlight_with_an_ambiguous_quote_is_refused()
    {
        var r = Highlight.Decide(
            HighlightState.Initial,
            new CreateHighlight("a2", Doc, Selector.ForQuote("Kazakhstan"), null),
            Given.Analyst("alice", "h1"));
        Assert.Contains("places", Given.Refused(r, DomainErrorKind.Invalid).Message);
    }

    [Fact]
    public void Creating_a_highlight_with_an_overlong_note_is_refused()
    {
        var r = Highlight.Decide(
            HighlightState.Initial,
            new CreateHighlight("a2", Doc, Selector.AtPosition(0, 5), new string('n', Limits.MaxNote + 1)),
            Given.Analyst("alice", "h1"));
        Given.Refused(r, DomainErrorKind.Invalid);
    }

    [Fact]
    public void Highlight_can_be_retracted_by_its_author()
    {
        var e = Assert.IsType<HighlightRetracted>(
            Assert.Single(Given.Ok(Highlight.Decide(Created(), new RetractHighlight("h1"), Given.Analyst("alice")))));
        Assert.Equal("h1", e.HighlightId);
    }

    [Fact]
    public void Highlight_retraction_by_another_analyst_is_refused()
    {
        var e = Given.Refused(
            Highlight.Decide(Created(), new RetractHighlight("h1"), Given.Analyst("bob")),
            DomainErrorKind.PermissionDenied);
        Assert.Contains("only its author", e.Message);
    }

    [Fact]
    public void Retracting_twice_is_refused()
    {
        var state = Given.Apply(
            Created(),
            Highlight.Evolve,
            Given.Ok(Highlight.Decide(Created(), new RetractHighlight("h1"), Given.Analyst("alice"))));
        Given.Refused(Highlight.Decide(state, new RetractHighlight("h1"), Given.Analyst("alice")), DomainErrorKind.FailedPrecondition);
    }

    [Fact]
    public void Retracting_an_unknown_highlight_is_not_found()
    {
        Given.Refused(
            Highlight.Decide(HighlightState.Initial, new RetractHighlight("nope"), Given.Analyst("alice")),
            DomainErrorKind.NotFound);
    }

    [Fact]
    public void Tags_on_a_highlight_are_normalised_and_a_retracted_highlight_takes_none()
    {
        var state = Created();
        var tagged = Given.Apply(
            state,
            Highlight.Evolve,
            Given.Ok(Highlight.Decide(state, new ApplyTag(TagTargetKind.Highlight, "h1", "Key Fact"), Given.Analyst("bob"))));
        Assert.Equal(["key-fact"], tagged.Tags.Names);
        var retracted = tagged with { Retracted = true };
        Given.Refused(
            Highlight.Decide(retracted, new ApplyTag(TagTargetKind.Highlight, "h1", "x"), Given.Analyst("bob")),
            DomainErrorKind.FailedPrecondition);
    }

    [Fact]
    public void Creating_a_highlight_under_an_id_already_used_is_a_conflict()
    {
        var r = Highlight.Decide(Created(), new CreateHighlight("a2", Doc, Selector.AtPosition(0, 5), null), Given.Analyst("alice", "h1"));
        Given.Refused(r, DomainErrorKind.Conflict);
    }

    [Fact]
    public void Highlighting_needs_the_analyst_role()
    {
        var r = Highlight.Decide(
            HighlightState.Initial,
            new CreateHighlight("a2", Doc, Selector.AtPosition(0, 5), null),
            new CommandContext("aud", Given.Now, [Role.Auditor], "h1"));
        Given.Refused(r, DomainErrorKind.PermissionDenied);
    }
}
