using Annotate.Domain.Anchoring;
using Annotate.Domain.Claims;
using Annotate.Domain.Consensus;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests;

/// <summary>
/// The seed scenario at domain level: three analysts open "Kazakhstan has a large Russian majority" (seed 003),
/// two refute it citing "about 20 percent" (seed 002), one supports it; the view says REFUTED at 2/3 with both
/// evidence spans; an adjudication makes it ADJUDICATED, and the fold up to the position before it still says REFUTED.
/// </summary>
public sealed class SeedScenarioTests
{
    private readonly TextDocument _claimDoc = Seeds.Document(Seeds.KazakhstanClaimArticle);
    private readonly TextDocument _evidenceDoc = Seeds.Document(Seeds.TwentyPercentArticle);
    private readonly List<PositionedEvent> _history = [];
    private ClaimIndex _index = ClaimIndex.Empty(Seeds.KazakhstanClaimArticle);
    private ClaimState _claim = ClaimState.Initial;

    private void Append(IEnumerable<IDomainEvent> events)
    {
        foreach (var e in events)
        {
            // events pass through their stored form, as they would through the event store
            var stored = EventTypes.Deserialize(EventTypes.NameOf(e), EventTypes.Serialize(e));
            _history.Add(new PositionedEvent(_history.Count + 1, Given.Now.AddSeconds(_history.Count), stored));
            _index = ClaimIndex.Evolve(_index, stored);
            _claim = Claim.Evolve(_claim, stored);
        }
    }

    private string OpenAs(string analyst, string newId, Selector selector)
    {
        var outcome = Given.Ok(
            Claim.Decide(_index, new OpenClaim(Seeds.KazakhstanClaimArticle, _claimDoc, selector), Given.Analyst(analyst, newId)));
        Append(outcome.Events);
        return outcome.ClaimId;
    }

    private void StanceAs(string analyst, string claimId, Stance stance, string rationale, bool citeTwentyPercent)
    {
        EvidenceInput[] evidence = citeTwentyPercent
            ? [new EvidenceInput(Seeds.TwentyPercentArticle, _evidenceDoc, Selector.ForQuote("about 20 percent"))]
            : [];
        Append(Given.Ok(Claim.Decide(_claim, new TakeStance(claimId, stance, rationale, evidence), Given.Analyst(analyst))));
    }

    private ClaimConsensus View(int? upToPosition = null) =>
        ConsensusProjection.Fold(_history.Where(p => upToPosition is null || p.Position <= upToPosition), ConsensusPolicy.Default)!;

    [Fact]
    public void Three_analysts_two_refuting_with_evidence_make_the_seed_claim_refuted_at_two_thirds_then_adjudicated()
    {
        // three analysts open the same claim, quoting it differently; one claim results
        var c1 = OpenAs("alice", "claim-1", Selector.ForQuote("Kazakhstan has a large Russian majority"));
        var c2 = OpenAs("bob", "claim-2", Selector.ForQuote("Kazakhstan has a large\nRussian majority"));
        var c3 = OpenAs("carol", "claim-3", Selector.ForQuote("Kazakhstan has a large Russian majority,", prefix: "Though"));
        Assert.Equal(["claim-1", "claim-1", "claim-1"], new[] { c1, c2, c3 });
        Assert.Single(_index.Claims);

        StanceAs("alice", c1, Stance.Refutes, "Seed 002: the Russian minority is about 20 percent.", citeTwentyPercent: true);
        StanceAs("bob", c1, Stance.Refutes, "A fifth is not a majority.", citeTwentyPercent: true);
        StanceAs("carol", c1, Stance.Supports, "The north has a large Russian population.", citeTwentyPercent: false);

        var view = View();
        Assert.Equal(ConsensusStatus.Refuted, view.Status);
        Assert.Equal(2.0 / 3, view.Agreement, 12);
        Assert.Equal("Kazakhstan has a large\nRussian majority", view.Exact);
        Assert.Equal(_claimDoc.Slice(view.Start, view.End), view.Exact);
        Assert.Equal(2, view.Evidence.Count);
        Assert.All(view.Evidence, e =>
        {
            Assert.Equal((Seeds.TwentyPercentArticle, Stance.Refutes, "about 20 percent"), (e.ArticleId, e.Stance, e.Exact));
            Assert.Equal("about 20 percent", _evidenceDoc.Slice(e.Start, e.End));
        });
        Assert.Equal(["alice", "bob"], view.Evidence.Select(e => e.Analyst));
        Assert.Equal(["alice", "bob", "carol"], view.Contributors);
        var beforeAdjudication = view.LastPosition;

        Append(
            Given.Ok(
                Claim.Decide(
                    _claim,
                    new AdjudicateClaim(c1, Stance.Refutes, "Census: about 20 percent Russian.", view.Version),
                    Given.Adjudicator("judge"))));
        var adjudicated = View();
        Assert.Equal((ConsensusStatus.Adjudicated, (Stance?)Stance.Refutes), (adjudicated.Status, adjudicated.Verdict));

        // as of the position before the adjudication, the view still says REFUTED, equal to what it was then
        Assert.Equal(view, View((int)beforeAdjudication));

        // the adjudicated claim is closed to stances
        Given.Refused(
            Claim.Decide(_claim, new TakeStance(c1, Stance.Supports, "", []), Given.Analyst("carol")),
            DomainErrorKind.FailedPrecondition);
    }
}
