using System.Diagnostics;
using System.Diagnostics.Metrics;
using Annotate.EventStore.Live;

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
        "annotate.eventstore.batch.appends", "{append}", "Appends in one transaction of the writer (group commit), committed or refused.",
            advice: SizeBuckets);

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

    private static readonly ObservableGauge<long> SubscriptionsBehind = Meter.CreateObservableGauge(
        "annotate.eventstore.subscription.lag",
        SubscriptionLag.Max,
        "{position}",
        "Positions the furthest-behind live subscription of the process is behind the newest position delivered to any of them.");

    private static readonly Counter<long> CatchUpReads = Meter.CreateCounter<long>(
        "annotate.eventstore.catch_up.reads",
        "{query}",
        "Catch-up pages the process's subscribers read from the events table: one per query, however many subscribers share its page.");

    /// <summary>The tag naming the store's schema on <c>annotate.eventstore.catch_up.reads</c>.</summary>
    public const string SchemaTag = "annotate.eventstore.schema";

    /// <summary>The commit span's attribute listing the request ids of the batch's appends.</summary>
    public const string RequestIdsTag = "annotate.request_ids";

    /// <summary>
    /// One committed batch: <paramref name="appends"/> appends that wrote <paramref name="events"/> new events, committed
    /// <paramref name="commit"/> after its first statement. The span ends now and starts that long ago, so a trace viewer
    /// shows it over the PostgreSQL spans of the same transaction. One commit serves the appends of many calls, so it is
    /// a trace of its own; <paramref name="requestIds"/> (read only when a listener records the span) ties it to theirs.
    /// </summary>
    public static void RecordBatch(int appends, int events, TimeSpan commit, IEnumerable<string?>? requestIds = null)
    {
#if !ANNOTATE_NO_TELEMETRY
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
        if (span is { IsAllDataRequested: true } && requestIds is not null)
            span.SetTag(RequestIdsTag, requestIds.OfType<string>().Distinct(StringComparer.Ordinal).ToArray());
#endif
    }

    /// <summary>One query of a subscriber's catch-up page against the events table of <paramref name="schema"/>.</summary>
    public static void RecordCatchUpRead(string schema)
    {
#if !ANNOTATE_NO_TELEMETRY
        CatchUpReads.Add(1, new KeyValuePair<string, object?>(SchemaTag, schema));
#endif
    }
}
