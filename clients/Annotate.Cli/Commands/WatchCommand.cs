using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class WatchCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var article = new Option<string?>("--article")
        {
            Description = "Only events of this article (its claims, highlights and stances included)",
        };
        var claim = new Option<string?>("--claim") { Description = "Only events of this claim" };
        var types = new Option<string[]>("--type") { Description = "Only events of this stored type, e.g. stance-taken.v1 (repeatable)" };
        var from = new Option<ulong?>("--from")
        {
            Description = "Also print the history after this position before going live (default: only new events)",
        };
        var count = new Option<int?>("--count") { Description = "Stop after this many events" };
        var command = new Command("watch", """
            Streams events live as they are recorded, until Ctrl+C (or --count events). Survives a server
            restart: it resubscribes after the last event it printed, so nothing is missed or printed twice.

            Examples:
              annotate watch --article kazakhstan-drawn-into-ukraine-war
              annotate watch --type stance-taken.v1 --type claim-adjudicated.v1 --json
              annotate watch --from 0 --count 10
            """) { article, claim, types, from, count, json };
        return command.Does(async inv =>
        {
            var filter = new EventFilter { ArticleId = inv.Get(article) ?? "", ClaimId = inv.Get(claim) ?? "" };
            filter.EventTypes.Add(inv.Get(types) ?? []);
            var after = inv.Get(from);
            var live = after is not null; // without --from, the catch-up is read but not printed
            var limit = inv.Get(count);
            var printed = 0;
            var caughtUp = false;
            if (limit is <= 0) return ExitCodes.Ok;
            await foreach (var item in inv.Client.SubscribeAsync(after ?? 0, filter, inv.CancellationToken))
            {
                if (item.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition)
                {
                    // On stderr, so stdout stays the event stream; said once (a resubscription catches up again).
                    if (!caughtUp) await inv.Err.WriteLineAsync($"watching live from position {item.CaughtUpPosition} (Ctrl+C to stop)");
                    caughtUp = true;
                    live = true;
                    continue;
                }
                if (!live) continue;
                if (inv.Get(json)) inv.WriteJson(item.Event);
                else inv.Out.WriteLine(Text.Event(item.Event));
                await inv.Out.FlushAsync(inv.CancellationToken);
                if (++printed == limit) break;
            }
            return ExitCodes.Ok;
        });
    }
}
