using Annotate.Domain.Claims;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Claims;

public sealed class BlindnessTests
{
    private static readonly BlindnessState Blind = new(Blind: true, Revealed: false);

    [Fact]
    public void An_adjudicator_makes_a_claim_blind_once()
    {
        var e = Assert.IsType<ClaimMadeBlind>(
            Assert.Single(Given.Ok(Blindness.Decide(BlindnessState.Initial, new MakeClaimBlind("c1"), Given.Adjudicator("judge")))));
        Assert.Equal(("c1", "judge"), (e.ClaimId, e.Adjudicator));
        Assert.Empty(Given.Ok(Blindness.Decide(Blind, new MakeClaimBlind("c1"), Given.Adjudicator("judge"))));
    }

    [Fact]
    public void An_analyst_can_neither_blind_nor_reveal()
    {
        Given.Refused(Blindness.Decide(BlindnessState.Initial, new MakeClaimBlind("c1"), Given.Analyst("ana")),
            DomainErrorKind.PermissionDenied);
        Given.Refused(Blindness.Decide(Blind, new RevealClaim("c1", false), Given.Analyst("ana")), DomainErrorKind.PermissionDenied);
        Given.Refused(Blindness.Decide(false, new MakeArticleBlind("a1"), Given.Analyst("ana")), DomainErrorKind.PermissionDenied);
    }

    [Fact]
    public void A_revealed_claim_cannot_be_made_blind_again()
    {
        var revealed = Given.Apply(Blind, Blindness.Evolve,
            Given.Ok(Blindness.Decide(Blind, new RevealClaim("c1", false), Given.Adjudicator("judge"))));
        Assert.True(revealed.Revealed);
        Given.Refused(Blindness.Decide(revealed, new MakeClaimBlind("c1"), Given.Adjudicator("judge")), DomainErrorKind.FailedPrecondition);
        Assert.Empty(Given.Ok(Blindness.Decide(revealed, new RevealClaim("c1", false), Given.Adjudicator("judge"))));
    }

    [Fact]
    public void Revealing_needs_a_blind_claim_blind_itself_or_by_its_article()
    {
        Given.Refused(Blindness.Decide(BlindnessState.Initial, new RevealClaim("c1", false), Given.Adjudicator("judge")),
            DomainErrorKind.FailedPrecondition);
        Assert.IsType<ClaimRevealed>(Assert.Single(
            Given.Ok(Blindness.Decide(BlindnessState.Initial, new RevealClaim("c1", true), Given.Adjudicator("judge")))));
    }

    [Fact]
    public void An_article_is_made_blind_once() =>
        Assert.Empty(Given.Ok(Blindness.Decide(true, new MakeArticleBlind("a1"), Given.Adjudicator("judge"))));

    [Theory]
    [InlineData(true, false, "bob", false, true)] // blind, B has no stance: hidden
    [InlineData(true, false, "ana", false, false)] // B's own stance recorded: shown
    [InlineData(true, true, "bob", false, false)] // revealed: shown
    [InlineData(false, false, "bob", false, false)] // not blind: shown
    [InlineData(true, false, "bob", true, false)] // adjudicator: shown
    public void Stances_are_hidden_only_from_an_analyst_without_their_own_on_a_blind_unrevealed_claim(
        bool blind, bool revealed, string analyst, bool adjudicator, bool hidden) =>
        Assert.Equal(hidden, Blindness.HiddenFrom(blind, revealed, ["ana"], analyst == "ana" ? "ana" : "bob",
            adjudicator ? [Role.Analyst, Role.Adjudicator] : [Role.Analyst]));
}
