using JasperFx.Events;
using Marten.Events.Aggregation;

namespace Annotate.Benchmarks.EventStore;

/// <summary>Per claim: its article and span, and how many analysts took each stance (the last stance of each counts).</summary>
public sealed class ClaimTally
{
    public string Id { get; set; } = "";
    public string ArticleId { get; set; } = "";
    public int Start { get; set; }
    public int End { get; set; }
    public Dictionary<string, string> StanceByAnalyst { get; set; } = [];
    public int Supports { get; set; }
    public int Refutes { get; set; }
    public int Other { get; set; }
    public long Events { get; set; }
    public long LastSequence { get; set; }
}

/// <summary>
/// A claim-like single-stream projection (one <see cref="ClaimTally"/> per claim stream), the rebuild scenario's default
/// workload; any single-stream projection can take its place (see <see cref="RebuildScenario"/>).
/// </summary>
public sealed class ClaimTallyProjection : SingleStreamProjection<ClaimTally, string>
{
    public static ClaimTally Create(IEvent<BenchClaimOpened> e) =>
        new()
        {
            Id = e.StreamKey!,
            ArticleId = e.Data.ArticleId,
            Start = e.Data.Start,
            End = e.Data.End,
            Events = 1,
            LastSequence = e.Sequence,
        };

    public static void Apply(IEvent<BenchStanceTaken> e, ClaimTally view)
    {
        view.StanceByAnalyst[e.Data.AnalystId] = e.Data.Stance;
        view.Supports = view.StanceByAnalyst.Values.Count(s => s == "SUPPORTS");
        view.Refutes = view.StanceByAnalyst.Values.Count(s => s == "REFUTES");
        view.Other = view.StanceByAnalyst.Count - view.Supports - view.Refutes;
        view.Events++;
        view.LastSequence = e.Sequence;
    }
}
