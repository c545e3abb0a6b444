// Event store benchmark: one run against one PostgreSQL, one table of figures.
//   dotnet run -c Release --project bench/Annotate.Benchmarks.EventStore -- [--events N] [--seconds S] [--appenders A] [--subscribers K]
// Defaults are short (--events 100000 --seconds 5 --appenders 64 --subscribers 500); the issue's full size is --events 1000000.
// PostgreSQL: ANNOTATE_BENCH_PG (a connection string to a database the benchmark may create schemas in), or a
// throwaway cluster started here with initdb/pg_ctl (as the postgres user when run as root).
using System.Globalization;
using Annotate.Benchmarks.EventStore;
using Annotate.EventStore;

var options = BenchOptions.Parse(args);
await using var server = await BenchServer.StartAsync();
var rows = new List<(string Metric, string Value, string Goal)>();
Console.WriteLine($"PostgreSQL: {server.Describe()}; events={options.Events:N0} seconds={options.Seconds} appenders={options.Appenders} subscribers={options.Subscribers}");

// 1. Group commit: A concurrent appenders of one event each, for S seconds.
var schema = "bench_" + DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);
await EventStoreSchema.MigrateAsync(new EventStoreOptions { ConnectionString = server.ConnectionString, Schema = schema });
await using var store = new PostgresEventStore(
    new EventStoreOptions { ConnectionString = server.ConnectionString + ";Maximum Pool Size=200", Schema = schema });
var append = await Phases.AppendAsync(store, options.Appenders, TimeSpan.FromSeconds(options.Seconds));
Console.WriteLine(
    $"append: {append.EventsPerSecond:N0} ev/s, {append.EventsPerCommit:N1} ev/commit, p50 {append.P50:N2} ms, p99 {append.P99:N2} ms");

// The same load without the writer's gather delay, for comparison.
AppendFigures noGather;
await using (
    var eager = new PostgresEventStore(
        new EventStoreOptions
        {
            ConnectionString = server.ConnectionString + ";Maximum Pool Size=200",
            Schema = schema,
            GatherDelay = TimeSpan.Zero,
        }))
{
    noGather = await Phases.AppendAsync(eager, options.Appenders, TimeSpan.FromSeconds(options.Seconds));
}

Console.WriteLine($"append without gather delay: {noGather.EventsPerSecond:N0} ev/s, {noGather.EventsPerCommit:N1} ev/commit, p50 {noGather.P50:N2} ms, p99 {noGather.P99:N2} ms");

// 2. pgbench on a table of the same shape (same columns, keys and indexes), single-row INSERT per transaction.
var pgbench = await Phases.PgbenchAsync(server, schema, options.Appenders, options.Seconds);
Console.WriteLine($"pgbench: {pgbench:N0} tps");
rows.Add(($"append, {options.Appenders} appenders x 1 event", $"{append.EventsPerSecond:N0} ev/s", ""));
rows.Add(("mean events per commit", $"{append.EventsPerCommit:N1}", ""));
rows.Add(("append latency p50 / p99", $"{append.P50:N2} / {append.P99:N2} ms", ""));
rows.Add(($"pgbench -c {options.Appenders} single-row INSERT", $"{pgbench:N0} tps", ""));
rows.Add(("append / pgbench", $"{append.EventsPerSecond / pgbench:N2}x", ">= 2x"));
rows.Add(
    (
        "same load, no gather delay (GatherDelay = 0)",
        $"{noGather.EventsPerSecond:N0} ev/s, {noGather.EventsPerCommit:N1} ev/commit, p99 {noGather.P99:N2} ms",
        ""));

// 3. Catch-up read and projection rebuild over N events.
await Phases.FillAsync(store, options.Events);
var head = await store.GetHeadPositionAsync();
var read = await Phases.CatchUpAsync(store, head);
Console.WriteLine($"catch-up: {read:N0} ev/s over {head:N0}");
var rebuild = await Phases.RebuildAsync(store, head);
Console.WriteLine($"rebuild: {rebuild:N0} ev/s");
rows.Add(($"catch-up subscription read, {head:N0} events", $"{read:N0} ev/s", ">= 200,000"));
rows.Add(($"projection rebuild, {head:N0} events", $"{rebuild:N0} ev/s", ">= 200,000"));

// 4. Live delivery to K subscribers while appending at half the measured peak rate.
var rate = append.EventsPerSecond / 2;
var live = await Phases.LiveAsync(store, options.Subscribers, rate, options.Appenders, TimeSpan.FromSeconds(options.Seconds));
Console.WriteLine($"live: p50 {live.P50:N2} ms p99 {live.P99:N2} ms at {live.Rate:N0} ev/s, {live.Deliveries:N0} deliveries");
rows.Add(
    (
        $"live delivery to {options.Subscribers} subscribers at {live.Rate:N0} ev/s, p50 / p99",
        $"{live.P50:N2} / {live.P99:N2} ms",
        "p99 < 25 ms"));
rows.Add(("  of which the append itself (call to ack), p50 / p99", $"{live.AppendP50:N2} / {live.AppendP99:N2} ms", ""));
var batched = await Phases.LiveAsync(
    store,
    options.Subscribers,
    rate,
    options.Appenders,
    TimeSpan.FromSeconds(options.Seconds),
    inBatches: true);
Console.WriteLine(
    $"live, in batches: p50 {batched.P50:N2} ms p99 {batched.P99:N2} ms at {batched.Rate:N0} ev/s, {batched.Deliveries:N0} deliveries");
rows.Add(
    (
        $"the same, subscribers reading batches (SubscribeInBatchesAsync), p50 / p99",
        $"{batched.P50:N2} / {batched.P99:N2} ms",
        "p99 < 25 ms"));
rows.Add(("  of which the append itself (call to ack), p50 / p99", $"{batched.AppendP50:N2} / {batched.AppendP99:N2} ms", ""));

Console.WriteLine();
var w0 = rows.Max(r => r.Metric.Length);
var w1 = rows.Max(r => r.Value.Length);
Console.WriteLine($"| {"metric".PadRight(w0)} | {"value".PadRight(w1)} | goal");
Console.WriteLine($"|-{new string('-', w0)}-|-{new string('-', w1)}-|------------");
foreach (var (m, v, g) in rows) Console.WriteLine($"| {m.PadRight(w0)} | {v.PadRight(w1)} | {g}");
await store.DisposeAsync();
await server.DropSchemaAsync(schema);
