using System.Globalization;
using Annotate.Benchmarks;
using Annotate.Benchmarks.EndToEnd;

// End-to-end benchmark: the real server process (one or several builds) over gRPC, with a client generated from
// the public protos, against one PostgreSQL, with pgbench on the same PostgreSQL for scale. Options: BenchOptions.Usage.
var repo = BenchOptions.FindRepoRoot();
BenchOptions options;
try
{
    options = BenchOptions.Parse(args, repo);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var inv = CultureInfo.InvariantCulture;
var commandLine = "dotnet run -c Release --project bench/Annotate.Benchmarks.EndToEnd" + (args.Length == 0 ? "" : " --")
    + string.Concat(args.Select(a => " " + Printable(a)));
var loadAtStart = ProcStat.LoadAverage();
var started = DateTime.UtcNow;
Console.WriteLine(commandLine);

await using var pg = await BenchPostgres.StartAsync(options.Postgres);
var ctx = new BenchContext(options, pg);
Console.WriteLine($"PostgreSQL: {pg.Description}");

var pgbenchSeconds = options.Duration.TotalSeconds;
var pgbench = new List<double>();
async Task PgbenchAsync()
{
    if (!options.Scenarios.Contains("pgbench")) return;
    var tps = await pg.PgbenchInsertAsync(options.PgbenchClients, pgbenchSeconds);
    pgbench.Add(tps);
    Console.WriteLine(string.Create(inv, $"pgbench -c {options.PgbenchClients} single-row INSERT: {tps:0} tps"));
}

await PgbenchAsync();
var commands = new List<CommandsResult>();
var subscribers = new List<CommandsResult>();
var rpc = new List<RpcResult>();
// Scenarios alternate between the builds, so that the shared machine's background load falls on each alike.
if (options.Scenarios.Contains("commands"))
{
    foreach (var level in options.Levels)
    {
        foreach (var build in options.Servers)
        {
            var r = await CommandsScenario.RunAsync(ctx, build, level, 0);
            commands.Add(r);
            Console.WriteLine(string.Create(
                inv,
                $"{build.Label} x{level}: {r.CommandsPerSecond:0} commands/s, p50 {r.P50Ms:0.0} ms, p99 {r.P99Ms:0.0} ms, "
                + $"{r.TransactionsPerCommand:0.0} xacts/cmd, {r.ServerCpuMsPerCommand:0.00} CPU ms/cmd, errors {r.Errors.Count}"));
        }
    }
}
if (options.Scenarios.Contains("subscribers"))
{
    foreach (var rate in options.SubscriberRates)
    {
        foreach (var build in options.Servers)
        {
            var r = await CommandsScenario.RunAsync(ctx, build, options.SubscriberAnalysts, options.Subscribers, rate);
            subscribers.Add(r);
            Console.WriteLine(string.Create(
                inv,
                $"{build.Label} x{options.SubscriberAnalysts} ({Report.Pace(rate)}) + {options.Subscribers} streams: "
                + $"{r.CommandsPerSecond:0} commands/s, "
                + $"p99 {r.P99Ms:0.0} ms, Subscribe ack-to-delivery p99 {r.Subscribe?.AckP99Ms:0.0} ms, "
                + $"WatchArticle {r.Watch?.AckP99Ms:0.0} ms, errors {r.Errors.Count}"));
        }
    }
}
if (options.Scenarios.Contains("rpc"))
{
    rpc.AddRange(
        await RpcScenario.RunAsync(
            ctx,
            options.Servers,
            r =>
                Console.WriteLine(
                    string.Create(
                        inv,
                        $"{r.Build} {r.Rpc} x{r.Callers}: {r.CallsPerSecond:0} calls/s, p99 {r.P99Ms:0.00} ms, errors {r.Errors}"))));
}
await PgbenchAsync();

var header = new List<string>
{
    string.Create(
        inv,
        $"- {started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores shared by the server, PostgreSQL and this client; "
        + $"load average {loadAtStart} at the start, {ProcStat.LoadAverage()} at the end"),
    $"- PostgreSQL: {pg.Description}",
    string.Create(
        inv,
        $"- window {options.Duration.TotalSeconds:0.#} s after {options.Warmup.TotalSeconds:0.#} s of warm-up per scenario "
        + $"(rpc rows: {options.RpcDuration.TotalSeconds:0.#} s after {options.RpcWarmup.TotalSeconds:0.#} s); "
        + $"a fresh database and server process per scenario"),
};
header.AddRange(
    options.Servers.Select(s =>
        string.Create(inv, $"- build {s.Label}: {s.Dll} (built {File.GetLastWriteTimeUtc(s.Dll):yyyy-MM-dd HH:mm} UTC)")
        + (s.Arguments.Count == 0 ? "" : ", with " + string.Join(" ", s.Arguments.Select(Printable)))));
if (options.Servers.Any(s => s.Arguments.Any(a => a.Contains("{otlp}", StringComparison.Ordinal))))
{
    var sink = await OtlpSink.SharedAsync();
    header.Add(string.Create(inv, $"- OTLP receiver of the run ({{otlp}}): {sink.Exports} exports received, {sink.Bytes / 1024.0:0} KiB"));
}
var report = Report.Render(commandLine, header, pgbench, options.PgbenchClients, pgbenchSeconds, commands, subscribers, rpc);
Console.WriteLine();
Console.WriteLine(report);
if (options.Markdown is not null) await File.WriteAllTextAsync(options.Markdown, report);

var failed =
    commands.Concat(subscribers).Any(r => r.Commands == 0 || r.Errors.Count > 0 || r.StreamFailures.Count > 0)
    || rpc.Any(r => r.Calls == 0 || r.Errors > 0);
return failed ? 1 : 0;

// An argument as a shell reads it back, with any password of a connection string left out of the report.
static string Printable(string arg)
{
    var shown = System.Text.RegularExpressions.Regex.Replace(arg, "(?i)(password=)[^;]*", "$1***");
    return System.Text.RegularExpressions.Regex.IsMatch(shown, "^[A-Za-z0-9_./=:,@+-]+$")
        ? shown
        : $"'{shown.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
