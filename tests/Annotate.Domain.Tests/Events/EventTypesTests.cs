using System.Text.Json;
using System.Text.RegularExpressions;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Events;

public sealed class EventTypesTests
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    /// <summary>One example of every event, with every optional field filled (and some left null).</summary>
    public static IEnumerable<IDomainEvent> Examples()
    {
        yield return new ArticleImported("003_b03ce63f8eeabc7f", "Title “quoted”", "seed", "sha256:00ff", "text\nwith 😀", "admin");
        yield return new HighlightCreated("h1", "a1", "alice", 3, 9, "exact", "pre", "suf", "a note");
        yield return new HighlightCreated("h2", "a1", "alice", 3, 9, "exact", "", "", null);
        yield return new HighlightRetracted("h1", "a1", "alice");
        yield return new TagApplied(TagTargetKind.Highlight, "h1", "needs-source", "bob");
        yield return new TagRemoved(TagTargetKind.Claim, "c1", "needs-source", "bob");
        yield return new ClaimOpened("c1", "a1", "alice", 10, 20, "exact", "pre", "suf", "statement");
        yield return new StanceTaken(
            "c1",
            "bob",
            Stance.NeedsContext,
            "because",
            ValueList.Of(new EvidenceSpan("a2", 1, 5, "abcd"), new EvidenceSpan("a3", 7, 9, "xy")));
        yield return new StanceTaken("c1", "bob", Stance.Refutes, "", ValueList<EvidenceSpan>.Empty);
        yield return new StanceWithdrawn("c1", "bob");
        yield return new ClaimAdjudicated("c1", "judge", Stance.Unverifiable, "no source", 7);
        yield return new ClaimReopened("c1", "judge", "new evidence");
        yield return new AnalystRegistered("alice", "Alice A.", ValueList.Of(Role.Analyst, Role.Adjudicator), "admin");
        yield return new AnalystRolesChanged("alice", ValueList.Of(Role.Auditor), "admin");
        yield return new TokenIssued("t1", "alice", "sha256:abc", Noon, "laptop", "admin");
        yield return new TokenIssued("t2", "alice", "sha256:abc", null, "", "admin");
        yield return new TokenRevoked("t1", "alice", "admin");
        yield return new ReplyPosted("r1", "a1", ReplyTargetKind.Claim, "c1", null, "alice", "why 1901?");
        yield return new ReplyPosted("r2", "a1", ReplyTargetKind.Highlight, "h1", "r1", "bob", "see the archive");
        yield return new ReplyEdited("r1", "alice", "why 1901, not 1900?");
        yield return new ReplyRetracted("r2", "bob");
        yield return new ClaimMadeBlind("c1", "judge");
        yield return new ClaimRevealed("c1", "judge");
        yield return new ArticleMadeBlind("a1", "judge");
        yield return new AnalystErased("alice", "admin", "erasure request 7", ValueList.Of(new ErasedEvent(12, new string('a', 64))));
        yield return new ArticleRevised("a1", 2, "sha256:00ff", "new text 😀", "admin", "corrected a date");
        yield return new SpanReanchored(
            "a1", 2, AnchorKind.Claim, "c1", 4, 9, 14, 19, "quote", "prefix ", " suffix", ReanchorMethod.Fuzzy, 0.75);
        yield return new SpanOrphaned("a1", 2, AnchorKind.Highlight, "h1", 4, 9, "quote", "the quote no longer occurs");
        yield return new EvidenceReanchored("a1", 2, "c1", "bob", 4, 9, 14, 19, "quote", ReanchorMethod.Quote, 0.9);
        yield return new EvidenceOrphaned("a1", 2, "c1", "bob", 4, 9, "quote", "the quote no longer occurs");
        yield return new SpanReattached("a1", 2, AnchorKind.Highlight, "h1", 14, 19, "quote", "prefix ", " suffix", "bob", false);
    }

    [Fact]
    public void Every_event_type_round_trips_through_its_stored_name_and_json()
    {
        foreach (var e in Examples())
        {
            var name = EventTypes.NameOf(e);
            var json = EventTypes.Serialize(e);
            var back = EventTypes.Deserialize(name, json);
            Assert.Equal(e, back);
            Assert.Equal(json, EventTypes.Serialize(back));
            Assert.Equal(e, EventTypes.Deserialize(name, EventTypes.SerializeToUtf8(e)));
        }
    }

    [Fact]
    public void Every_event_type_in_the_assembly_is_registered_and_has_an_example()
    {
        var declared = typeof(IDomainEvent).Assembly.GetTypes()
            .Where(t => typeof(IDomainEvent).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .ToHashSet();
        Assert.Equal(declared.OrderBy(t => t.Name), EventTypes.Types.OrderBy(t => t.Name));
        Assert.Equal(declared.OrderBy(t => t.Name), Examples().Select(e => e.GetType()).Distinct().OrderBy(t => t.Name));
    }

    [Fact]
    public void Stored_names_are_unique_kebab_case_and_versioned()
    {
        Assert.Equal(EventTypes.Names.Count, EventTypes.Names.Distinct(StringComparer.Ordinal).Count());
        Assert.All(EventTypes.Names, n => Assert.Matches(new Regex(@"^[a-z]+(-[a-z]+)*\.v[1-9][0-9]*$"), n));
    }

    [Fact]
    public void Stored_json_is_camel_case_with_enums_as_names()
    {
        var json = EventTypes.Serialize(
            new StanceTaken("c1", "bob", Stance.NeedsContext, "r", ValueList.Of(new EvidenceSpan("a2", 1, 5, "abcd"))));
        Assert.Equal(
            """{"claimId":"c1","analyst":"bob","stance":"NEEDS_CONTEXT","rationale":"r","evidence":["""
            + """{"articleId":"a2","start":1,"end":5,"exact":"abcd"}]}""",
            json);
    }

    [Fact]
    public void Stored_names_of_the_claim_events_are_stable()
    {
        Assert.Equal("claim-opened.v1", EventTypes.NameOf(typeof(ClaimOpened)));
        Assert.Equal("stance-taken.v1", EventTypes.NameOf(typeof(StanceTaken)));
        Assert.Equal("claim-adjudicated.v1", EventTypes.NameOf(typeof(ClaimAdjudicated)));
        Assert.Equal("article-imported.v1", EventTypes.NameOf(typeof(ArticleImported)));
    }

    [Fact]
    public void Unknown_stored_name_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => EventTypes.Deserialize("claim-opened.v99", "{}"));
    }

    [Fact]
    public void Null_for_a_non_nullable_value_is_rejected()
    {
        Assert.ThrowsAny<JsonException>(() => EventTypes.Deserialize("stance-withdrawn.v1", """{"claimId":"c","analyst":null}"""));
    }

    [Fact]
    public void Enum_stored_as_number_is_rejected()
    {
        Assert.ThrowsAny<JsonException>(() => EventTypes.Deserialize(
            "claim-adjudicated.v1", """{"claimId":"c","adjudicator":"j","verdict":1,"rationale":"r","claimVersionSeen":1}"""));
    }

    [Fact]
    public void Stance_display_names_equal_their_stored_json_names()
    {
        foreach (var stance in Enum.GetValues<Stance>())
        {
            Assert.Equal("\"" + StanceNames.Of(stance) + "\"", JsonSerializer.Serialize(stance, EventTypes.JsonOptions));
        }
    }
}
