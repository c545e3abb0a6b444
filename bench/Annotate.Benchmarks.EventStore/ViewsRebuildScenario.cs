using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Annotate.Domain.Consensus;
using Annotate.Server.Hosting;
using JasperFx.Events;
using Marten;
using Marten.Events;
using Npgsql;

namespace Annotate.Benchmarks.EventStore;

/// <summary>A build of the server whose <c>rebuild-views</c> command the scenario runs.</summary>
internal sealed record ServerBuild(string Name, string Dll);

/// <summary>One run of one build's <c>rebuild-views</c> on a copy of the loaded database.</summary>
internal sealed record ViewsRebuildRun(
    string Build,
    int Round,
    long Events,
    double RebuildSeconds,
    double CommandSeconds,
    double CommandCpuSeconds,
    double PostgresCpuSeconds,
    double OtherCpuPercent,
    IReadOnlyList<(string View, double Seconds)> Views,
    IReadOnlyList<(string Table, long Documents, string Digest)> Documents)
{
    public double EventsPerSecond => Events / RebuildSeconds;
}

/// <summary>
/// The product's rebuild: <see cref="NewsroomLog"/> bulk-loaded once in log order with Marten's
/// <c>BulkInsertEventStreamAsync</c> (COPY, no projection runs) into a database with the server's Marten schema, then, per
/// build and round, a copy of that database (<c>CREATE DATABASE ... TEMPLATE</c>) on which the build's own
/// <c>annotate-server rebuild-views</c> runs as a child process. The rebuild time is the one the command prints (every
/// view, without the process's start); its CPU includes the start. Each run's view tables are digested (id and data of
/// every document, by id), so builds can be compared document for document.
/// </summary>
internal static partial class ViewsRebuildScenario
{
    public const string Schema = "annotate";

    /// <summary>Loads the log into a database of its own and returns its name (the template of every run).</summary>
    public static async Task<(string Template, long Events)> LoadAsync(BenchPostgres pg, long events)
    {
        var cs = await pg.CreateDatabaseAsync("bench_views_log");
        var load = Stopwatch.StartNew();
        var log = NewsroomLog.Events(events);
        var (marten, versions) = NewsroomLog.ForMarten(log, DateTimeOffset.UtcNow.AddDays(-30));
        await using (var dataSource = NpgsqlDataSource.Create(cs))
        await using (var store = new DocumentStore(MartenSetup.Options(dataSource, Schema, ConsensusPolicy.Default)))
        {
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            var headers = versions.Select(v => new BulkEventStreamHeader { Key = v.Key, Version = v.Value }).ToList();
            await store.BulkInsertEventStreamAsync("*DEFAULT*", headers, Stream(marten), batchSize: 10_000);
        }
        // Statistics for the planner on the freshly copied table (see RebuildScenario).
        await BenchPostgres.ExecAsync(cs, $"ANALYZE {Schema}.mt_events; ANALYZE {Schema}.mt_streams");
        await using (var pooled = new NpgsqlConnection(cs)) NpgsqlConnection.ClearPool(pooled);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"views: {marten.Count:N0} events in {versions.Count:N0} streams loaded in {load.Elapsed.TotalSeconds:N1} s"));
        return (new NpgsqlConnectionStringBuilder(cs).Database!, marten.Count);
    }

    private static async IAsyncEnumerable<IEvent> Stream(IEnumerable<IEvent> events)
    {
        foreach (var e in events) yield return e;
        await Task.CompletedTask;
    }

    public static async Task<ViewsRebuildRun> RunAsync(BenchPostgres pg, string template, long events, ServerBuild build, int round)
    {
        var name = $"bench_views_{round}_{Regex.Replace(build.Name, "[^a-z0-9]", "_")}";
        await BenchPostgres.ExecAsync(pg.AdminConnectionString, $"CREATE DATABASE \"{name}\" TEMPLATE \"{template}\"");
        var cs = new NpgsqlConnectionStringBuilder(pg.AdminConnectionString) { Database = name }.ConnectionString;
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { build.Dll, "rebuild-views", $"--ConnectionStrings:Annotate={cs}", $"--Annotate:Schema={Schema}" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var cpu = new CpuWindow(pg);
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            watch.Stop();
            var (self, postgres, other) = cpu.Stop();
            var output = await stdout;
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{build.Name}: rebuild-views exited {process.ExitCode}: {output}{await stderr}");
            var views = ViewLine().Matches(output)
                .Select(m => (m.Groups[1].Value, double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();
            var total = TotalLine().Match(output);
            if (!total.Success) throw new InvalidOperationException($"{build.Name}: rebuild-views printed no total: {output}");
            return new ViewsRebuildRun(build.Name, round, events, double.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture),
                watch.Elapsed.TotalSeconds, self, postgres, other, views, await DigestsAsync(cs));
        }
        finally
        {
            await pg.DropDatabaseAsync(cs);
        }
    }

    /// <summary>Per view table: documents and an MD5 over every document's id and data, in id order.</summary>
    private static async Task<List<(string, long, string)>> DigestsAsync(string cs)
    {
        var digests = new List<(string, long, string)>();
        await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(cs) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'mt_doc_%' ORDER BY 1", conn))
        {
            list.Parameters.AddWithValue(Schema);
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        }
        foreach (var table in tables.Where(t => t != "mt_doc_append_record"))
        {
            await using var digest = new NpgsqlCommand(
                "SELECT count(*), coalesce(md5(string_agg(id::text || ' ' || data::text, E'\\n' ORDER BY id)), '') " +
                $"FROM {Schema}.{table}", conn);
            await using var reader = await digest.ExecuteReaderAsync();
            await reader.ReadAsync();
            digests.Add((table["mt_doc_".Length..], reader.GetInt64(0), reader.GetString(1)));
        }
        return digests;
    }

    [GeneratedRegex(@"^rebuilt (\w+) in ([0-9.]+) s$", RegexOptions.Multiline)]
    private static partial Regex ViewLine();

    [GeneratedRegex(@"^rebuilt \d+ views in ([0-9.]+) s$", RegexOptions.Multiline)]
    private static partial Regex TotalLine();
}

/// <summary>The views' rebuild in the report: every run, then each build's mean, and whether the builds' views agree.</summary>
internal static class ViewsReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(IReadOnlyList<ViewsRebuildRun> runs)
    {
        var md = new System.Text.StringBuilder();
        md.AppendLine("The product's rebuild (`annotate-server rebuild-views` of each build on a copy of the same log):");
        md.AppendLine();
        md.AppendLine("| round | build | events | rebuild s | events/s | command s (with start) | " +
            "CPU s command / PostgreSQL (µs/event) | " +
            "other CPU % | goal | met |");
        md.AppendLine("|--:|---|--:|--:|--:|--:|--:|--:|--:|---|");
        foreach (var r in runs)
        {
            md.AppendLine(Inv,
                $"| {r.Round} | {r.Build} | {r.Events:N0} | {r.RebuildSeconds:N1} | {r.EventsPerSecond:N0} | {r.CommandSeconds:N1} | " +
                    $"{r.CommandCpuSeconds:N1} / {r.PostgresCpuSeconds:N1} ({r.CommandCpuSeconds * 1e6 / r.Events:0.0} / " +
                    $"{r.PostgresCpuSeconds * 1e6 / r.Events:0.0}) | {r.OtherCpuPercent:0} | >= 200,000 | " +
                    $"{(r.EventsPerSecond >= 200_000 ? "yes" : "no")} |");
        }
        md.AppendLine();
        var builds = runs.Select(r => r.Build).Distinct().ToList();
        md.AppendLine("Seconds per view (or per step the build's command prints; - where a build has no such step), mean over the rounds:");
        md.AppendLine();
        md.AppendLine($"| view | {string.Join(" | ", builds)} |");
        md.AppendLine($"|---|{string.Concat(builds.Select(_ => "--:|"))}");
        foreach (var view in runs.SelectMany(r => r.Views.Select(v => v.View)).Distinct())
        {
            var cells = builds.Select(b => runs.Where(r => r.Build == b).SelectMany(r => r.Views).Where(v => v.View == view)
                .Select(v => v.Seconds).ToList() is { Count: > 0 } seconds ? seconds.Average().ToString("0.00", Inv) : "-");
            md.AppendLine($"| {view} | {string.Join(" | ", cells)} |");
        }
        md.AppendLine();
        md.AppendLine("View documents after the rebuild (count, and whether every document equals the first build's, by id and data):");
        md.AppendLine();
        md.AppendLine($"| table | {string.Join(" | ", builds)} |");
        md.AppendLine($"|---|{string.Concat(builds.Select(_ => "--:|"))}");
        var first = runs[0];
        foreach (var (table, _, digest) in first.Documents)
        {
            var cells = builds.Select(b => runs.Where(r => r.Build == b).SelectMany(r => r.Documents).Where(d => d.Table == table)
                .Select(d => $"{d.Documents:N0}{(d.Digest == digest ? "" : " (differs)")}").FirstOrDefault() ?? "-");
            md.AppendLine($"| {table} | {string.Join(" | ", cells)} |");
        }
        return md.ToString();
    }
}
