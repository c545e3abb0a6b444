using Annotate.Domain.Discussion;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Discussion;

public sealed class ReplyTests
{
    private static readonly ReplyTarget OnClaim = new(ReplyTargetKind.Claim, "c1", "a1", Open: true);

    private static ReplyState Posted(string id = "r1", string author = "alice", ReplyTarget? target = null, ReplyState? parent = null)
    {
        var events = Given.Ok(Reply.Decide(
            ReplyState.Initial, new PostReply(target ?? OnClaim, parent, " why 1901? "), Given.Analyst(author, id)));
        return Given.Apply(ReplyState.Initial, Reply.Evolve, events);
    }

    [Fact]
    public void Posting_a_reply_on_a_claim_records_target_author_and_trimmed_text()
    {
        var e = Assert.IsType<ReplyPosted>(Assert.Single(Given.Ok(
            Reply.Decide(ReplyState.Initial, new PostReply(OnClaim, null, " why 1901? "), Given.Analyst("alice", "r1")))));
        Assert.Equal(("r1", "a1", ReplyTargetKind.Claim, "c1", (string?)null, "alice", "why 1901?"),
            (e.ReplyId, e.ArticleId, e.TargetKind, e.TargetId, e.ParentId, e.Analyst, e.Body));
    }

    [Fact]
    public void Answering_a_reply_names_it_as_parent()
    {
        var e = Assert.IsType<ReplyPosted>(Assert.Single(Given.Ok(
            Reply.Decide(ReplyState.Initial, new PostReply(OnClaim, Posted(), "the archive says so"), Given.Analyst("bob", "r2")))));
        Assert.Equal("r1", e.ParentId);
    }

    [Fact]
    public void Answering_a_reply_of_another_thread_is_refused()
    {
        var other = Posted(target: new ReplyTarget(ReplyTargetKind.Highlight, "h1", "a1", true));
        var r = Reply.Decide(ReplyState.Initial, new PostReply(OnClaim, other, "x"), Given.Analyst("bob", "r2"));
        Assert.Contains("another claim or highlight", Given.Refused(r, DomainErrorKind.Invalid).Message);
    }

    [Fact]
    public void Answering_a_retracted_reply_is_refused()
    {
        var retracted = Given.Apply(Posted(), Reply.Evolve, [new ReplyRetracted("r1", "alice")]);
        Given.Refused(Reply.Decide(ReplyState.Initial, new PostReply(OnClaim, retracted, "x"), Given.Analyst("bob", "r2")),
            DomainErrorKind.FailedPrecondition);
    }

    [Fact]
    public void Replying_on_a_retracted_highlight_is_refused()
    {
        var r = Reply.Decide(ReplyState.Initial,
            new PostReply(new ReplyTarget(ReplyTargetKind.Highlight, "h1", "a1", Open: false), null, "x"),
            Given.Analyst("bob", "r2"));
        Assert.Contains("retracted", Given.Refused(r, DomainErrorKind.FailedPrecondition).Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  \n ")]
    public void A_reply_without_text_is_refused(string body) =>
        Given.Refused(Reply.Decide(ReplyState.Initial, new PostReply(OnClaim, null, body), Given.Analyst("alice", "r1")),
            DomainErrorKind.Invalid);

    [Fact]
    public void An_overlong_reply_is_refused() =>
        Given.Refused(Reply.Decide(ReplyState.Initial, new PostReply(OnClaim, null, new string('x', Limits.MaxReply + 1)),
            Given.Analyst("alice", "r1")),
            DomainErrorKind.Invalid);

    [Fact]
    public void Replying_needs_the_analyst_role() =>
        Given.Refused(Reply.Decide(ReplyState.Initial, new PostReply(OnClaim, null, "x"), Given.WithRoles("audrey", Role.Auditor)),
            DomainErrorKind.PermissionDenied);

    [Fact]
    public void The_author_edits_a_reply_and_the_same_text_again_changes_nothing()
    {
        var edited = Assert.IsType<ReplyEdited>(
            Assert.Single(Given.Ok(Reply.Decide(Posted(), new EditReply("r1", "why 1900?"), Given.Analyst("alice")))));
        Assert.Equal("why 1900?", edited.Body);
        Assert.Empty(Given.Ok(Reply.Decide(Posted(), new EditReply("r1", " why 1901? "), Given.Analyst("alice"))));
    }

    [Fact]
    public void Only_the_author_edits_or_retracts_a_reply()
    {
        Given.Refused(Reply.Decide(Posted(), new EditReply("r1", "mine now"), Given.Analyst("bob")), DomainErrorKind.PermissionDenied);
        Given.Refused(Reply.Decide(Posted(), new RetractReply("r1"), Given.Analyst("bob")), DomainErrorKind.PermissionDenied);
    }

    [Fact]
    public void A_retracted_reply_takes_no_edit_and_no_second_retraction()
    {
        var retracted = Given.Apply(Posted(), Reply.Evolve,
            Given.Ok(Reply.Decide(Posted(), new RetractReply("r1"), Given.Analyst("alice"))));
        Assert.True(retracted.Retracted);
        Given.Refused(Reply.Decide(retracted, new EditReply("r1", "again"), Given.Analyst("alice")), DomainErrorKind.FailedPrecondition);
        Given.Refused(Reply.Decide(retracted, new RetractReply("r1"), Given.Analyst("alice")), DomainErrorKind.FailedPrecondition);
    }

    [Fact]
    public void Editing_a_missing_reply_is_not_found() =>
        Given.Refused(Reply.Decide(ReplyState.Initial, new EditReply("r9", "x"), Given.Analyst("alice")), DomainErrorKind.NotFound);
}
