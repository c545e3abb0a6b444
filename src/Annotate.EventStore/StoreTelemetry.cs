using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Annotate.EventStore;

/// <summary>
/// What the writer reports through System.Diagnostics: one span and four measurements per committed batch (group
/// commit). Both are named <see cref="Name"/>; a host that listens (OpenTelemetry's <c>AddSource</c>/<c>AddMeter</c>)
/// gets them, and while nothing listens a record costs a few branches.
/// </summary>
public static class StoreTelemetry
{
    public const string Name = "Annotate.EventStore";

    public static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly InstrumentAdvice<int> SizeBuckets = new()
    {
        HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    };

    private static readonly Histogram<int> BatchAppends = Meter.CreateHistogram(
        "annotate.eventstore.batch.appends", "{append}", "Appends committed together in one transaction of the writer.", advice: SizeBuckets);

    private static readonly Histogram<int> BatchEvents = Meter.CreateHistogram(
        "annotate.eventstore.batch.events", "{event}", "Events committed together in one transaction of the writer.", advice: SizeBuckets);

    private static readonly Histogram<double> CommitDuration = Meter.CreateHistogram(
        "annotate.eventstore.commit.duration",
        "s",
        "Time from a batch's first statement (taking the head lock) to its commit.",
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        });

    private static readonly Counter<long> EventsAppended = Meter.CreateCounter<long>(
        "annotate.eventstore.events.appended", "{event}", "Events the writer committed.");

    /// <summary>
    /// One committed batch: <paramref name="appends"/> appends holding <paramref name="events"/> new events, committed
    /// <paramref name="commit"/> after its first statement. The span ends now and starts that long ago, so a trace viewer
    /// shows it over the PostgreSQL spans of the same transaction.
    /// </summary>
    public static void RecordBatch(int appends, int events, TimeSpan commit)
    {
        BatchAppends.Record(appends);
        BatchEvents.Record(events);
        CommitDuration.Record(commit.TotalSeconds);
        EventsAppended.Add(events);
        if (!Source.HasListeners()) return;
        using var span = Source.StartActivity(
            "annotate.eventstore.commit",
            ActivityKind.Internal,
            parentContext: default,
            tags: [new("annotate.batch.appends", appends), new("annotate.batch.events", events)],
            startTime: DateTimeOffset.UtcNow - commit);
    }
}
