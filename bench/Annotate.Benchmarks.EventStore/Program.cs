using System.Globalization;
using Annotate.Benchmarks;
using Annotate.Benchmarks.EventStore;

// Store benchmark, in-process, against one PostgreSQL: our store's writer, naive Marten and pgbench appending side by
// side in alternating rounds, then Marten's rebuild of a projection over bulk-loaded events. Options: BenchOptions.Usage.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var inv = CultureInfo.InvariantCulture;
var commandLine = "dotnet run -c Release --project bench/Annotate.Benchmarks.EventStore" + (args.Length == 0 ? "" : " --")
    + string.Concat(args.Select(a => " " + (a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a)));
var loadAtStart = ProcStat.LoadAverage();
var started = DateTime.UtcNow;
Console.WriteLine(commandLine);

await using var pg = await BenchPostgres.StartAsync(options.Postgres);
Console.WriteLine($"PostgreSQL: {pg.Description}");
var databases = new List<string>();
async Task<string> DatabaseAsync(string prefix)
{
    var cs = await pg.CreateDatabaseAsync(prefix);
    databases.Add(cs);
    return cs;
}

var contestants = new List<Contestant>();
NaiveMarten? marten = null;
try
{
    // Each contestant in a database of its own, so that pg_stat_database counts only its transactions.
    if (options.Scenarios.Contains("writer"))
    {
        var cs = await DatabaseAsync("bench_writer");
        await WriterUnderTest.PrepareAsync(cs);
        contestants.Add(new WriterContestant(pg, cs));
    }
    if (options.Scenarios.Contains("marten"))
    {
        var cs = await DatabaseAsync("bench_marten");
        marten = await NaiveMarten.StartAsync(cs);
        contestants.Add(new NaiveMartenContestant(pg, cs, marten));
    }
    if (options.Scenarios.Contains("pgbench"))
    {
        var cs = await DatabaseAsync("bench_pgbench");
        await PgbenchContestant.PrepareAsync(cs);
        contestants.Add(new PgbenchContestant(pg, cs));
    }

    // Round r runs the contestants rotated by r, so that no contestant always runs first, after the same one, or last.
    var rounds = new List<RoundResult>();
    for (var round = 1; round <= options.Rounds && contestants.Count > 0; round++)
    {
        for (var i = 0; i < contestants.Count; i++)
        {
            var c = contestants[(i + round - 1) % contestants.Count];
            var r = await c.RunRoundAsync(round, options);
            rounds.Add(r);
            Console.WriteLine(string.Create(inv,
                $"round {round} {c.Name}: {r.EventsPerSecond:N0} ev/s, " +
                $"{(r.LatenciesMs.Length == 0 ? "" : $"p50 {ClosedLoop.Percentile(r.LatenciesMs, 0.5):0.0} ms, ")}" +
                $"{(r.LatenciesMs.Length == 0 ? "" : $"p99 {ClosedLoop.Percentile(r.LatenciesMs, 0.99):0.0} ms, ")}" +
                $"{r.TransactionsPerEvent:0.000} PG xacts/event, " +
                $"CPU µs/event {r.ClientCpuMicroseconds:0} client {r.PostgresCpuMicroseconds:0} PG, other CPU {r.OtherCpuPercent:0}%" +
                $"{(r.Error is null ? "" : ", ERROR " + r.Error)}"));
        }
    }

    RebuildFigures? rebuild = null;
    if (options.Scenarios.Contains("rebuild"))
    {
        var cs = await DatabaseAsync("bench_rebuild");
        rebuild = await RebuildScenario.RunAsync<ClaimTallyProjection, ClaimTally>(
            pg, cs, options.Rebuild, options.RebuildEvents, options.EventsPerStream,
            ClaimEvents.Stream);
        Console.WriteLine(string.Create(inv,
            $"rebuild {rebuild.Projection}: {rebuild.Events:N0} events in {rebuild.RebuildSeconds:N1} s, " +
                $"{rebuild.RebuildEventsPerSecond:N0} ev/s; CPU s: this process {rebuild.ClientCpuSeconds:N1}, PostgreSQL " +
                $"{rebuild.PostgresCpuSeconds:N1}; other CPU {rebuild.OtherCpuPercent:0}%"));
    }

    var viewRuns = new List<ViewsRebuildRun>();
    if (options.Scenarios.Contains("views"))
    {
        var builds = options.Servers.Count > 0 ? options.Servers : [BenchOptions.ThisTree()];
        var (template, events) = await ViewsRebuildScenario.LoadAsync(pg, options.RebuildEvents);
        databases.Add(new Npgsql.NpgsqlConnectionStringBuilder(pg.AdminConnectionString) { Database = template }.ConnectionString);
        for (var round = 1; round <= options.ViewRounds; round++)
        {
            for (var i = 0; i < builds.Count; i++)
            {
                var run = await ViewsRebuildScenario.RunAsync(pg, template, events, builds[(i + round - 1) % builds.Count], round);
                viewRuns.Add(run);
                Console.WriteLine(string.Create(inv,
                    $"views round {round} {run.Build}: {run.Events:N0} events in {run.RebuildSeconds:N1} s, " +
                        $"{run.EventsPerSecond:N0} ev/s; CPU s: command {run.CommandCpuSeconds:N1}, " +
                        $"PostgreSQL {run.PostgresCpuSeconds:N1}; other CPU {run.OtherCpuPercent:0}%"));
            }
        }
    }

    var header = new List<string>
    {
        string.Create(inv,
            $"{started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores shared by PostgreSQL, this benchmark and other work; " +
                $"load average {loadAtStart} at the start, {ProcStat.LoadAverage()} at the end, " +
                $"{(DateTime.UtcNow - started).TotalSeconds:0} s in all"),
        $"PostgreSQL: {pg.Description}; each contestant in a database of its own",
    };
    // The append scenarios' settings, when any of them ran.
    if (contestants.Count > 0)
    {
        header.Add(string.Create(inv,
            $"{options.Rounds} rounds of {options.Window.TotalSeconds:0.#} s windows after {options.Warmup.TotalSeconds:0.#} s of " +
                $"warm-up (pgbench: {options.Window.TotalSeconds:0.#} s, no warm-up), contestants in rotating order"));
        header.Add(string.Create(inv,
            $"writer and naive Marten: {options.Appenders} tasks, one event per call, each to a stream of its own; naive Marten: " +
                $"LightweightSession, Events.Append, SaveChangesAsync per event, StreamIdentity.AsString, append mode " +
                $"{marten?.AppendMode.ToString() ?? "-"} (the default); pgbench: -c {options.PgbenchClients} -j " +
                $"{Environment.ProcessorCount}, one INSERT of the same event per transaction"));
    }
    var report = Report.Render(header, rounds, rebuild) + (viewRuns.Count > 0 ? "\n" + ViewsReport.Render(viewRuns) : "");
    Console.WriteLine();
    Console.WriteLine(commandLine);
    Console.WriteLine();
    Console.WriteLine(report);
    if (options.Markdown is { } file) await File.WriteAllTextAsync(file, $"    {commandLine}\n\n{report}");
    return rounds.Any(r => r.Error is not null) ? 1 : 0;
}
finally
{
    if (marten is not null) await marten.DisposeAsync();
    foreach (var cs in databases) await pg.DropDatabaseAsync(cs);
}
