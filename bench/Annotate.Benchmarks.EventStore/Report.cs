using System.Globalization;
using System.Text;

namespace Annotate.Benchmarks.EventStore;

/// <summary>The run's figures as Markdown: every round, then means and ratios with their goals, then the rebuild.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Render(IEnumerable<string> header, IReadOnlyList<RoundResult> rounds, RebuildFigures? rebuild)
    {
        var md = new StringBuilder();
        foreach (var line in header) md.AppendLine(Inv, $"- {line}");
        md.AppendLine();
        if (rounds.Count > 0)
        {
            md.AppendLine("Every round, in the order run:");
            md.AppendLine();
            md.AppendLine("| round | contestant | events/s | p50 ms | p99 ms | PG xacts/event | client CPU µs/event | PG CPU µs/event | " +
                "other CPU % | error |");
            md.AppendLine("|--:|---|--:|--:|--:|--:|--:|--:|--:|---|");
            foreach (var r in rounds)
            {
                md.AppendLine(Inv,
                    $"| {r.Round} | {r.Contestant} | {r.EventsPerSecond:N0} | {Ms(ClosedLoop.Percentile(r.LatenciesMs, 0.50))} | " +
                        $"{Ms(ClosedLoop.Percentile(r.LatenciesMs, 0.99))} | {r.TransactionsPerEvent:0.000} | " +
                        $"{r.ClientCpuMicroseconds:0} | {r.PostgresCpuMicroseconds:0} | {r.OtherCpuPercent:0} | {FirstLine(r.Error)} |");
            }
            md.AppendLine();
            md.AppendLine("Over all rounds (latencies: every call completed in a window):");
            md.AppendLine();
            md.AppendLine("| contestant | events/s, mean (min-max) | p50 ms | p99 ms | PG xacts/event | client CPU µs/event | PG CPU " +
                "µs/event |");
            md.AppendLine("|---|--:|--:|--:|--:|--:|--:|");
            foreach (var g in rounds.GroupBy(r => r.Contestant))
            {
                var rates = g.Select(r => r.EventsPerSecond).ToList();
                var latencies = g.SelectMany(r => r.LatenciesMs).ToArray();
                Array.Sort(latencies);
                var events = (double)g.Sum(r => r.Events);
                var xacts = g.Sum(r => r.Transactions) / events;
                var client = g.Sum(r => r.ClientCpuSeconds) * 1e6 / events;
                var postgres = g.Sum(r => r.PostgresCpuSeconds) * 1e6 / events;
                md.AppendLine(Inv,
                    $"| {g.Key} | {rates.Average():N0} ({rates.Min():N0}-{rates.Max():N0}) | " +
                        $"{Ms(ClosedLoop.Percentile(latencies, 0.50))} | {Ms(ClosedLoop.Percentile(latencies, 0.99))} | {xacts:0.000} | " +
                        $"{client:0} | {postgres:0} |");
            }
            md.AppendLine();
            var ratios = new List<string>();
            Ratio(md, rounds, "writer", "naive Marten", 5.0, ratios);
            Ratio(md, rounds, "writer", "pgbench", 1.5, ratios);
        }
        if (rebuild is not null)
        {
            md.AppendLine("Projection rebuild (Marten's `IProjectionDaemon.RebuildProjectionAsync`, after `BulkInsertEventsAsync`):");
            md.AppendLine();
            md.AppendLine("| projection | events | streams | bulk load events/s | rebuild s | rebuild events/s | CPU s this process / " +
                "PostgreSQL (µs/event) | other CPU % | goal | met |");
            md.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|");
            md.AppendLine(Inv,
                $"| {rebuild.Projection} | {rebuild.Events:N0} | {rebuild.Streams:N0} | {rebuild.LoadEventsPerSecond:N0} | " +
                    $"{rebuild.RebuildSeconds:N1} | {rebuild.RebuildEventsPerSecond:N0} | {rebuild.ClientCpuSeconds:N1} / " +
                    $"{rebuild.PostgresCpuSeconds:N1} ({rebuild.ClientCpuSeconds * 1e6 / rebuild.Events:0.0} / " +
                    $"{rebuild.PostgresCpuSeconds * 1e6 / rebuild.Events:0.0}) | {rebuild.OtherCpuPercent:0} | >= 200,000 | " +
                    $"{(rebuild.RebuildEventsPerSecond >= 200_000 ? "yes" : "no")} |");
            md.AppendLine();
            md.AppendLine(Inv, $"Rebuild settings: {rebuild.Tuning}.");
            md.AppendLine();
        }
        return md.ToString();
    }

    /// <summary>A ratio of two contestants' events/s: of the means over all rounds, and its range round by round.</summary>
    private static void Ratio(StringBuilder md, IReadOnlyList<RoundResult> rounds, string a, string b, double goal, List<string> done)
    {
        var ra = rounds.Where(r => r.Contestant == a).ToList();
        var rb = rounds.Where(r => r.Contestant == b).ToList();
        if (ra.Count == 0 || rb.Count == 0) return;
        if (done.Count == 0)
        {
            md.AppendLine("| ratio of events/s | of the means | round by round (min-max) | goal | met |");
            md.AppendLine("|---|--:|--:|--:|---|");
        }
        done.Add(a + b);
        var mean = ra.Average(r => r.EventsPerSecond) / rb.Average(r => r.EventsPerSecond);
        var perRound = ra.Join(rb, r => r.Round, r => r.Round, (x, y) => x.EventsPerSecond / y.EventsPerSecond).ToList();
        md.AppendLine(Inv,
            $"| {a} / {b} | {mean:0.00}x | {perRound.Min():0.00}x-{perRound.Max():0.00}x | >= {goal:0.0}x | " +
                $"{(mean >= goal ? "yes" : "no")} |");
        if (done.Count == 2) md.AppendLine();
    }

    private static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms.ToString("0.0", Inv);

    private static string FirstLine(string? error) =>
        error is null ? "" : error.Split('\n')[0].Replace("|", "\\|", StringComparison.Ordinal);
}
