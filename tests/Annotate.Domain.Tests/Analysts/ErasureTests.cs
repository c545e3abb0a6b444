using Annotate.Domain.Analysts;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Analysts;

public sealed class ErasureTests
{
    private static readonly ErasedEvent[] Listed = [new(4, new string('b', 64))];

    private static AnalystState WithToken()
    {
        var state = Given.Apply(AnalystState.Initial, Analyst.Evolve,
            Given.Ok(Analyst.Decide(AnalystState.Initial, new RegisterAnalyst("alice", "Alice Liddell", [Role.Analyst]), Given.Admin())));
        return Given.Apply(state, Analyst.Evolve,
            Given.Ok(Analyst.Decide(state, new IssueToken("alice", "sha256:s", null, "alice's laptop"), Given.Admin(newId: "t1"))));
    }

    [Fact]
    public void Masking_removes_the_free_texts_and_the_name_and_keeps_ids_votes_and_quoted_words()
    {
        Assert.Equal(new StanceTaken("c1", "alice", Stance.Refutes, "", ValueList<EvidenceSpan>.Empty),
            Erasure.Masked(new StanceTaken("c1", "alice", Stance.Refutes, "my cousin said so", ValueList<EvidenceSpan>.Empty)));
        Assert.Equal(
            "alice",
            ((AnalystRegistered)Erasure.Masked(new AnalystRegistered("alice", "Alice Liddell", ValueList.Of(Role.Analyst), "admin")))
                .DisplayName);
        Assert.Equal("Kazakhstan has a large Russian majority",
            ((ClaimOpened)Erasure.Masked(new ClaimOpened(
                "c1", "a1", "alice", 0, 40, "Kazakhstan has a\nlarge Russian majority", "", "", "Alice thinks so"))).Statement);
        Assert.Null(((HighlightCreated)Erasure.Masked(new HighlightCreated("h1", "a1", "alice", 0, 4, "text", "", "", "note"))).Note);
        Assert.Equal("", ((ReplyEdited)Erasure.Masked(new ReplyEdited("r1", "alice", "text"))).Body);
        Assert.Equal("", ((ClaimReopened)Erasure.Masked(new ClaimReopened("c1", "alice", "because"))).Reason);
        var tag = new TagApplied(TagTargetKind.Claim, "c1", "needs-source", "alice");
        Assert.Same(tag, Erasure.Masked(tag));
    }

    [Fact]
    public void Only_the_authors_events_with_text_left_are_to_be_masked()
    {
        var stance = new StanceTaken("c1", "alice", Stance.Refutes, "why", ValueList<EvidenceSpan>.Empty);
        Assert.NotNull(Erasure.MaskedIfPersonal(stance, "alice"));
        Assert.Null(Erasure.MaskedIfPersonal(stance, "bob"));
        Assert.Null(Erasure.MaskedIfPersonal(Erasure.Masked(stance), "alice"));
        Assert.Null(Erasure.MaskedIfPersonal(new ClaimOpened("c1", "a1", "alice", 0, 4, "word", "", "", "word"), "alice"));
    }

    [Fact]
    public void Erasing_records_the_erasure_and_revokes_the_tokens_then_erasing_again_decides_nothing()
    {
        var events = Given.Ok(Erasure.Decide(WithToken(), new EraseAnalyst("alice", " request 7 ", Listed), Given.Admin()));

        var erased = Assert.IsType<AnalystErased>(events[0]);
        Assert.Equal(new AnalystErased("alice", "admin", "request 7", ValueList.Of(Listed)), erased);
        Assert.Equal(new TokenRevoked("t1", "alice", "admin"), events[1]);
        var after = Given.Apply(WithToken(), Analyst.Evolve, events);
        Assert.True(after.Erased);
        Assert.Equal("alice", after.DisplayName);
        Assert.Empty(Given.Ok(Erasure.Decide(after, new EraseAnalyst("alice", "again", []), Given.Admin())));
    }

    [Fact]
    public void Erasing_needs_an_admin_a_reason_an_existing_analyst_and_someone_else()
    {
        Given.Refused(
            Erasure.Decide(WithToken(), new EraseAnalyst("alice", "r", Listed), Given.Analyst("bob")),
            DomainErrorKind.PermissionDenied);
        Given.Refused(Erasure.Decide(WithToken(), new EraseAnalyst("alice", " ", Listed), Given.Admin()), DomainErrorKind.Invalid);
        Given.Refused(Erasure.Decide(WithToken(), new EraseAnalyst("alice", new string('r', Limits.MaxReason + 1), Listed), Given.Admin()),
            DomainErrorKind.Invalid);
        Given.Refused(Erasure.Decide(AnalystState.Initial, new EraseAnalyst("nobody", "r", []), Given.Admin()), DomainErrorKind.NotFound);
        Given.Refused(
            Erasure.Decide(WithToken(), new EraseAnalyst("alice", "r", Listed), Given.Admin("alice")),
            DomainErrorKind.FailedPrecondition);
    }
}
