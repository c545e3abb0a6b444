using System.Text.Json;

namespace Annotate.Benchmarks.EventStore;

/// <summary>One round of one contestant: events/s in the window, latencies, PostgreSQL transactions per event, machine load.</summary>
internal sealed record RoundResult(
    string Contestant,
    int Round,
    double EventsPerSecond,
    double[] LatenciesMs,
    long Events,
    long Transactions,
    double ClientCpuSeconds,
    double PostgresCpuSeconds,
    double OtherCpuPercent,
    string? Error)
{
    /// <summary>CPU of the client side (this process, or pgbench) per event, over the whole round.</summary>
    public double ClientCpuMicroseconds => ClientCpuSeconds * 1e6 / Events;

    /// <summary>CPU of PostgreSQL per event, over the whole round.</summary>
    public double PostgresCpuMicroseconds => PostgresCpuSeconds * 1e6 / Events;

    /// <summary>Transactions (commits and rollbacks) of the contestant's database per event, over the whole round.</summary>
    public double TransactionsPerEvent => Events == 0 ? double.NaN : (double)Transactions / Events;
}

/// <summary>A way of appending events, measured in rounds against the others.</summary>
internal abstract class Contestant(string name, BenchPostgres pg, string connectionString)
{
    public string Name { get; } = name;

    protected string ConnectionString { get; } = connectionString;

    /// <summary>
    /// Runs one round and counts what it cost: the contestant's database counters are read before its connections
    /// open and after they have all closed (a backend reports its counts when it exits), so transactions per event
    /// are exact for the round (warm-up included, as its events are too); "other CPU" is the machine's busy time that
    /// neither this process (with its children, pgbench) nor PostgreSQL used, as a share of all cores. CPU per event is
    /// over the whole round too, and the figure least moved by the machine's load.
    /// </summary>
    public async Task<RoundResult> RunRoundAsync(int round, BenchOptions options)
    {
        if (!await pg.WaitForNoSessionsAsync(ConnectionString, TimeSpan.FromSeconds(10)))
            Console.WriteLine($"warning: {Name}: sessions still open before round {round}; its transaction count is approximate");
        var counters0 = await pg.CountersAsync(ConnectionString);
        var cpu = new CpuWindow(pg);
        var (loop, events) = await RunAsync(options);
        // Every backend of the round has exited (and been reaped, so its CPU time is the postmaster's) after this.
        if (!await pg.WaitForNoSessionsAsync(ConnectionString, TimeSpan.FromSeconds(10)))
            Console.WriteLine($"warning: {Name}: sessions still open after round {round}; its transaction count is approximate");
        var (client, postgres, other) = cpu.Stop();
        var counters = await pg.CountersAsync(ConnectionString) - counters0;
        return new RoundResult(Name, round, loop.CallsPerSecond, loop.LatenciesMs, events, counters.Transactions, client, postgres, other,
            loop.Error?.ToString());
    }

    /// <summary>Warm-up and window; returns the loop's figures and every event appended in the round.</summary>
    protected abstract Task<(LoopResult Loop, long Events)> RunAsync(BenchOptions options);
}

/// <summary>(a) Our store's writer: each appender appends one event per call to a stream of its own.</summary>
internal sealed class WriterContestant(BenchPostgres pg, string connectionString) : Contestant("writer", pg, connectionString)
{
    protected override async Task<(LoopResult, long)> RunAsync(BenchOptions options)
    {
        // A store per round: disposing it closes its connections, so the round's counts are complete.
        await using var writer = WriterUnderTest.Open(ConnectionString);
        var loop = await ClosedLoop.RunAsync(options.Appenders, options.Warmup, options.Window,
            (a, n) => WriterUnderTest.AppendOneAsync(writer, $"claim-{a:D3}", ClaimEvents.Stance($"claim-{a:D3}", a, n)));
        return (loop, loop.TotalCalls);
    }
}

/// <summary>(b) Marten the plain way, same appenders, streams and events.</summary>
internal sealed class NaiveMartenContestant(BenchPostgres pg, string connectionString, NaiveMarten marten)
    : Contestant("naive Marten", pg, connectionString)
{
    protected override async Task<(LoopResult, long)> RunAsync(BenchOptions options)
    {
        var loop = await ClosedLoop.RunAsync(options.Appenders, options.Warmup, options.Window,
            (a, n) => marten.AppendOneAsync($"claim-{a:D3}", ClaimEvents.Stance($"claim-{a:D3}", a, n)));
        marten.CloseIdleConnections();
        return (loop, loop.TotalCalls);
    }
}

/// <summary>
/// (c) pgbench: one row per transaction into a table as wide as an event row (sequence key, stream and version with a
/// unique index on them, event id, type, the same event as jsonb, time), from <c>--pgbench-clients</c> clients.
/// </summary>
internal sealed class PgbenchContestant(BenchPostgres pg, string connectionString) : Contestant("pgbench", pg, connectionString)
{
    public static async Task PrepareAsync(string connectionString) =>
        await BenchPostgres.ExecAsync(connectionString, """
            CREATE TABLE bench_events (
                seq_id bigserial PRIMARY KEY,
                stream_id text NOT NULL,
                version bigint NOT NULL,
                event_id uuid NOT NULL,
                type text NOT NULL,
                data jsonb NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (stream_id, version));
            CREATE SEQUENCE bench_versions;
            """);

    protected override async Task<(LoopResult, long)> RunAsync(BenchOptions options)
    {
        // pgbench reads ":name" as a variable: a space after every JSON colon keeps the event's text out of its way.
        var json = JsonSerializer.Serialize(ClaimEvents.Stance("claim-000", 0, 1)).Replace("\":", "\": ", StringComparison.Ordinal);
        var script = $"""
            INSERT INTO bench_events (stream_id, version, event_id, type, data)
            VALUES ('claim-' || :client_id, nextval('bench_versions'), gen_random_uuid(), 'bench-stance-taken.v1',
                '{json.Replace("'", "''", StringComparison.Ordinal)}');

            """;
        var run = await BenchPostgres.PgbenchAsync(ConnectionString, script, options.PgbenchClients, options.Window.TotalSeconds);
        var loop = new LoopResult((long)(run.TransactionsPerSecond * options.Window.TotalSeconds), options.Window.TotalSeconds,
            run.Transactions, [], null);
        return (loop, run.Transactions);
    }
}
