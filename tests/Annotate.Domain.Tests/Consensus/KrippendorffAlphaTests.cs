using Annotate.Domain.Consensus;
using Annotate.Domain.Events;

namespace Annotate.Domain.Tests.Consensus;

/// <summary>Checks against the worked examples of Krippendorff, "Computing Krippendorff's Alpha-Reliability" (2011).</summary>
public sealed class KrippendorffAlphaTests
{
    [Fact]
    public void Two_coders_binary_example_gives_alpha_0_095()
    {
        int?[] a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0];
        int?[] b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0];
        var r = KrippendorffAlpha.FromCoderRows<int>([a, b]);
        Assert.Equal(20, r.PairableValues);
        Assert.Equal(0.095, r.Alpha!.Value, 3);
        Assert.Equal(0.4, r.ObservedDisagreement, 12);     // 8 mismatching of 20 pairable values
        Assert.Equal(84.0 / 190, r.ExpectedDisagreement, 12); // 2·14·6 / (20·19)
    }

    [Fact]
    public void Four_observers_twelve_units_nominal_example_with_missing_data_gives_alpha_0_743()
    {
        int?[] a = [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null];
        int?[] b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3];
        int?[] c = [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null];
        int?[] d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null];
        var r = KrippendorffAlpha.FromCoderRows<int>([a, b, c, d]);
        Assert.Equal(40, r.PairableValues); // unit 12 has a single value and is not pairable
        Assert.Equal(0.743, r.Alpha!.Value, 3);
        Assert.Equal(0.2, r.ObservedDisagreement, 12);
    }

    [Fact]
    public void Perfect_agreement_with_variation_gives_alpha_1()
    {
        var r = KrippendorffAlpha.Nominal<string>([["x", "x"], ["y", "y", "y"], ["z", "z"]]);
        Assert.Equal(1.0, r.Alpha);
        Assert.Equal(0, r.ObservedDisagreement);
    }

    [Fact]
    public void Alpha_is_undefined_without_pairable_values()
    {
        var r = KrippendorffAlpha.Nominal<string>([["x"], [], ["y"]]);
        Assert.Equal((0, (double?)null), (r.PairableValues, r.Alpha));
    }

    [Fact]
    public void Alpha_is_undefined_when_every_value_is_the_same()
    {
        var r = KrippendorffAlpha.Nominal<string>([["x", "x"], ["x", "x", "x"]]);
        Assert.Equal(5, r.PairableValues);
        Assert.Equal(0, r.ExpectedDisagreement);
        Assert.Null(r.Alpha);
    }

    [Fact]
    public void Article_agreement_uses_the_current_stances_of_each_claim()
    {
        static ClaimConsensus Claim(string id, params (string Analyst, Stance Stance)[] stances)
        {
            var events = new List<IDomainEvent> { new ClaimOpened(id, "a1", "o", 0, 1, "x", "", "", "x") };
            events.AddRange(stances.Select(s => new StanceTaken(id, s.Analyst, s.Stance, "", ValueList<EvidenceSpan>.Empty)));
            return ConsensusProjection.Fold(events.Select((e, i) => new PositionedEvent(i, Given.Now, e)), ConsensusPolicy.Default)!;
        }

        var claims = new[]
        {
            Claim("c1", ("a", Stance.Refutes), ("b", Stance.Refutes)),
            Claim("c2", ("a", Stance.Supports), ("b", Stance.Supports), ("c", Stance.Supports)),
            Claim("c3", ("a", Stance.Refutes)),
        };
        var r = KrippendorffAlpha.ForClaims(claims);
        Assert.Equal(5, r.PairableValues);
        Assert.Equal(1.0, r.Alpha);
    }
}
