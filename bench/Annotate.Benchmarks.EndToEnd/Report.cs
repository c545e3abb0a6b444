using System.Globalization;
using System.Text;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>The run as Markdown: the command line and the machine, then one table per scenario.</summary>
internal static class Report
{
    private const double MiB = 1024.0 * 1024.0;

    public static string Render(
        string commandLine,
        IEnumerable<string> header,
        IReadOnlyList<double> pgbench,
        int pgbenchClients,
        double pgbenchSeconds,
        IReadOnlyList<CommandsResult> commands,
        IReadOnlyList<CommandsResult> subscribers,
        IReadOnlyList<RpcResult> rpc)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("    " + commandLine).AppendLine();
        foreach (var line in header) md.AppendLine(line);
        var pg = pgbench.Count == 0 ? double.NaN : pgbench.Average();
        if (pgbench.Count > 0)
        {
            md.AppendLine(
                inv,
                $"- pgbench, single-row INSERT, -c {pgbenchClients}, {pgbenchSeconds:0} s, same PostgreSQL: "
                + $"{string.Join(" / ", pgbench.Select(t => t.ToString("0", inv)))} tps (start / end of the run); "
                + $"\"x pgbench\" divides by their mean, {pg:0}");
        }
        md.AppendLine();

        string Ratio(double perSecond) => double.IsNaN(pg) ? "-" : (perSecond / pg).ToString("0.000", inv);

        if (commands.Count > 0)
        {
            md.AppendLine("(a) Commands: analysts in a closed loop, no subscribers").AppendLine();
            md.AppendLine(
                "| build | analysts | commands/s | x pgbench | p50 ms | p99 ms | server CPU ms/cmd | PG CPU ms/cmd | PG xacts/cmd "
                + "| PG rows read/cmd | server RSS peak MiB | client CPU ms/cmd | other CPU % | errors |");
            md.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var r in commands)
            {
                md.AppendLine(
                    inv,
                    $"| {r.Build} | {r.Analysts} | {r.CommandsPerSecond:0} | {Ratio(r.CommandsPerSecond)} | {r.P50Ms:0.0} "
                    + $"| {r.P99Ms:0.0} | {r.ServerCpuMsPerCommand:0.00} | {PerUnit(r.Window.PostgresCpu, r.Commands)} "
                    + $"| {r.TransactionsPerCommand:0.0} | {r.RowsReadPerCommand:0} | {r.PeakRssBytes / MiB:0} "
                    + $"| {r.ClientCpuMsPerCommand:0.00} | {r.Window.OtherCpuPercent:0} | {r.Errors.Count} |");
            }
            md.AppendLine().AppendLine("Per command, p50 / p99 ms (count in the window):").AppendLine();
            var kinds = Enum.GetValues<CommandKind>();
            md.AppendLine("| build | analysts | " + string.Join(" | ", kinds.Select(Name)) + " |");
            md.AppendLine("|---|--:|" + string.Concat(kinds.Select(_ => "--:|")));
            foreach (var r in commands.Concat(subscribers))
            {
                var who = r.Subscribers > 0 ? $"{r.Analysts} ({Pace(r.Rate)}) + {r.Subscribers} streams" : $"{r.Analysts}";
                var cells = kinds.Select(k =>
                    r.Kinds.FirstOrDefault(x => x.Kind == k) is { } l
                        ? string.Create(inv, $"{l.P50Ms:0.0} / {l.P99Ms:0.0} ({l.Count})")
                        : "-");
                md.AppendLine(
                    inv,
                    $"| {r.Build} | {who} | {string.Join(" | ", cells)} |"
                );
            }
            Errors(md, commands);
            md.AppendLine();
        }

        if (subscribers.Count > 0)
        {
            md.AppendLine(
                "(b) Commands with live streams (half WatchArticle, half Subscribe); "
                + "delivery delays of the messages that reflect a command of the window").AppendLine();
            md.AppendLine(
                "| build | analysts | pace | streams | commands/s | x pgbench | p50 ms | p99 ms "
                + "| Subscribe ack-to-delivery p50 / p99 ms | WatchArticle ack-to-delivery p50 / p99 ms "
                + "| send-to-delivery p99 ms Subscribe / WatchArticle | Subscribe missed | server CPU ms/cmd | PG CPU ms/cmd "
                + "| PG xacts/cmd | server RSS peak MiB | client CPU ms/cmd | other CPU % | errors |");
            md.AppendLine("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var r in subscribers)
            {
                var s = r.Subscribe!;
                var w = r.Watch!;
                md.AppendLine(
                    inv,
                    $"| {r.Build} | {r.Analysts} | {Pace(r.Rate)} | {r.Subscribers} | {r.CommandsPerSecond:0} "
                    + $"| {Ratio(r.CommandsPerSecond)} | {r.P50Ms:0.0} | {r.P99Ms:0.0} | {s.AckP50Ms:0.0} / {s.AckP99Ms:0.0} "
                    + $"| {w.AckP50Ms:0.0} / {w.AckP99Ms:0.0} "
                    + $"| {s.SendP99Ms:0.0} / {w.SendP99Ms:0.0} | {s.Missed} of {s.Expected} | {r.ServerCpuMsPerCommand:0.00} "
                    + $"| {PerUnit(r.Window.PostgresCpu, r.Commands)} | {r.TransactionsPerCommand:0.0} | {r.PeakRssBytes / MiB:0} "
                    + $"| {r.ClientCpuMsPerCommand:0.00} | {r.Window.OtherCpuPercent:0} | {r.Errors.Count} |");
            }
            Errors(md, subscribers);
            foreach (var r in subscribers.Where(r => r.StreamFailures.Count > 0))
                md.AppendLine(inv, $"- {r.Build}: streams that ended early: {string.Join("; ", r.StreamFailures.Take(3))}");
            md.AppendLine();
        }

        if (rpc.Count > 0)
        {
            md.AppendLine("(c) RPCs through the real server: callers in a closed loop on one channel").AppendLine();
            md.AppendLine(
                "| build | rpc | callers | calls/s | p50 ms | p99 ms | server CPU ms/call | PG CPU ms/call | PG xacts/call "
                + "| client CPU ms/call | other CPU % | errors |");
            md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
            foreach (var r in rpc.OrderBy(r => r.Rpc, StringComparer.Ordinal).ThenBy(r => r.Callers)) // stable: builds in run order
            {
                md.AppendLine(
                    inv,
                    $"| {r.Build} | {r.Rpc} | {r.Callers} | {r.CallsPerSecond:0} | {r.P50Ms:0.00} | {r.P99Ms:0.00} "
                    + $"| {r.ServerCpuMsPerCall:0.000} | {PerUnit(r.Window.PostgresCpu, r.Calls)} | {r.TransactionsPerCall:0.00} "
                    + $"| {r.Window.ClientCpu.TotalMilliseconds / r.Calls:0.000} | {r.Window.OtherCpuPercent:0} | {r.Errors} |");
            }
            foreach (var r in rpc.Where(r => r.FirstError is not null))
                md.AppendLine(inv, $"- {r.Build} {r.Rpc} x{r.Callers}: first error: {r.FirstError}");
            md.AppendLine();
        }
        return md.ToString();
    }

    private static string PerUnit(TimeSpan? cpu, int units) =>
        cpu is { } t && units > 0 ? (t.TotalMilliseconds / units).ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static string Name(CommandKind kind) => kind switch
    {
        CommandKind.Highlight => "CreateHighlight",
        CommandKind.OpenClaim => "OpenClaim",
        CommandKind.TakeStance => "TakeStance",
        CommandKind.WithdrawStance => "WithdrawStance",
        CommandKind.ApplyTag => "ApplyTag",
        CommandKind.RemoveTag => "RemoveTag",
        _ => kind.ToString(),
    };

    private static void Errors(StringBuilder md, IEnumerable<CommandsResult> results)
    {
        foreach (var r in results)
        {
            foreach (var g in r.Errors.GroupBy(e => (e.Kind, e.Status)).Take(5))
            {
                md.AppendLine(
                    CultureInfo.InvariantCulture,
                    $"- {r.Build} x{r.Analysts}: {g.Count()} x {Name(g.Key.Kind)} {g.Key.Status}: {g.First().Message}");
            }
        }
    }

    /// <summary>How the analysts of a (b) row were paced: their closed loop, or a fixed total rate (open loop).</summary>
    public static string Pace(double? rate) =>
        rate is { } r ? string.Create(CultureInfo.InvariantCulture, $"{r:0.#} commands/s") : "closed loop";
}
