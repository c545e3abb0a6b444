using System.Diagnostics;
using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Marten.Events.Aggregation;

namespace Annotate.Benchmarks.EventStore;

/// <summary>Marten's rebuild settings the run uses (null or 0: Marten's default).</summary>
internal sealed record RebuildTuning(int? BatchSize, int FlushThreshold, bool OptimizedRebuilds)
{
    public override string ToString() =>
        $"AsyncOptions.BatchSize {(BatchSize is { } b ? b.ToString(System.Globalization.CultureInfo.InvariantCulture) : "default")}, "
        + $"RebuildFlushThreshold {FlushThreshold}, UseOptimizedProjectionRebuilds {OptimizedRebuilds}";
}

internal sealed record RebuildFigures(
    string Projection,
    long Events,
    int Streams,
    double LoadSeconds,
    double RebuildSeconds,
    long Documents,
    RebuildTuning Tuning,
    double ClientCpuSeconds,
    double PostgresCpuSeconds,
    double OtherCpuPercent)
{
    public double LoadEventsPerSecond => Events / LoadSeconds;
    public double RebuildEventsPerSecond => Events / RebuildSeconds;
}

/// <summary>
/// Marten's projection rebuild: <c>events</c> events in claim-sized streams bulk-loaded with
/// <see cref="IDocumentStore.BulkInsertEventsAsync(IReadOnlyList{StreamAction}, int, CancellationToken)"/> (COPY, no
/// projection runs meanwhile), then the projection rebuilt from the first event with
/// <see cref="JasperFx.Events.Daemon.IProjectionDaemon.RebuildProjectionAsync(Type, TimeSpan, CancellationToken)"/>.
/// The projection is a type parameter: point it at any single-stream projection and give the events its streams hold.
/// </summary>
internal static class RebuildScenario
{
    public const string Schema = "bench_rebuild";

    /// <param name="connectionString">An empty database of its own.</param>
    /// <param name="events">Events to load and replay.</param>
    /// <param name="eventsPerStream">Events of each stream (the last stream may hold fewer).</param>
    /// <param name="streamEvents">The events of stream <c>key</c>, number <c>n</c>, holding <c>count</c> events.</param>
    public static async Task<RebuildFigures> RunAsync<TProjection, TDocument>(
        BenchPostgres pg,
        string connectionString,
        RebuildTuning tuning,
        long events,
        int eventsPerStream,
        Func<string, int, int, IReadOnlyList<object>> streamEvents)
        where TProjection : SingleStreamProjection<TDocument, string>, new()
        where TDocument : notnull
    {
        using var store = DocumentStore.For(o =>
        {
            o.Connection(connectionString);
            o.DatabaseSchemaName = Schema;
            o.Events.StreamIdentity = StreamIdentity.AsString;
            o.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
            o.Events.UseOptimizedProjectionRebuilds = tuning.OptimizedRebuilds;
            o.Projections.Add<TProjection>(ProjectionLifecycle.Async, a =>
            {
                if (tuning.BatchSize is { } size) a.BatchSize = size;
                a.RebuildFlushThreshold = tuning.FlushThreshold;
            });
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        var streams = (int)((events + eventsPerStream - 1) / eventsPerStream);
        var load = Stopwatch.StartNew();
        const int streamsPerCall = 2_000; // bounds the memory of one call: BulkInsertEventsAsync holds its events in memory
        for (var first = 0; first < streams; first += streamsPerCall)
        {
            var actions = new List<StreamAction>(streamsPerCall);
            for (var n = first; n < Math.Min(streams, first + streamsPerCall); n++)
            {
                var count = (int)Math.Min(eventsPerStream, events - (long)n * eventsPerStream);
                var key = $"claim-{n:D7}";
                actions.Add(StreamAction.Start(store.Events, key, [.. streamEvents(key, n, count)]));
            }
            await store.BulkInsertEventsAsync(actions, batchSize: 10_000);
        }
        // The planner has no statistics on tables just filled by COPY until autovacuum gets to them, and without them
        // every page the daemon fetches scans the whole events table: 28.8 s of PostgreSQL CPU for 200,000 events
        // against 1.3 s after ANALYZE, measured here. Statistics only; Marten has no API for it.
        await BenchPostgres.ExecAsync(connectionString, $"ANALYZE {Schema}.mt_events; ANALYZE {Schema}.mt_streams");
        load.Stop();
        Console.WriteLine($"rebuild: {events:N0} events in {streams:N0} streams bulk-loaded in {load.Elapsed.TotalSeconds:N1} s");

        using var daemon = await store.BuildProjectionDaemonAsync();
        var cpu = new CpuWindow(pg);
        var rebuild = Stopwatch.StartNew();
        await daemon.RebuildProjectionAsync(typeof(TProjection), TimeSpan.FromMinutes(30), CancellationToken.None);
        rebuild.Stop();
        var (self, postgres, other) = cpu.Stop();

        await using var session = store.QuerySession();
        var documents = await session.Query<TDocument>().CountAsync();
        if (documents != streams)
            throw new InvalidOperationException($"the rebuild left {documents:N0} documents for {streams:N0} streams");
        return new RebuildFigures(typeof(TProjection).Name, events, streams, load.Elapsed.TotalSeconds, rebuild.Elapsed.TotalSeconds,
            documents, tuning, self, postgres, other);
    }
}
