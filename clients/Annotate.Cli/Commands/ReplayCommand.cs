using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ReplayCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var from = new Option<string?>("--from")
        {
            Description = "First position included, or a time (ISO 8601); default: the first event",
        };
        var to = new Option<string?>("--to")
        {
            Description = "Last position included, or a time; default: the head when the replay starts",
        };
        var article = new Option<string?>("--article") { Description = "Only events of this article" };
        var claim = new Option<string?>("--claim") { Description = "Only events of this claim" };
        var types = new Option<string[]>("--type") { Description = "Only events of this stored type (repeatable)" };
        var command = new Command("replay", """
            Prints the events of a range of the history (auditor or admin role), oldest first. On a terminal a
            progress bar is drawn on stderr; events always go to stdout.

            Examples:
              annotate replay --from 1 --to 200
              annotate replay --from 2026-11-21T09:00:00Z --article kazakhstan-drawn-into-ukraine-war --json > events.jsonl
            """) { from, to, article, claim, types, json };
        return command.Does(async inv =>
        {
            var request = new ReplayRequest
            {
                Filter = new EventFilter { ArticleId = inv.Get(article) ?? "", ClaimId = inv.Get(claim) ?? "" },
            };
            request.Filter.EventTypes.Add(inv.Get(types) ?? []);
            if (Parsing.AsOf(inv.Get(from)) is { } f)
            {
                if (f.PointCase == AsOf.PointOneofCase.Position) request.FromPosition = f.Position;
                else request.FromTime = f.Time;
            }
            if (Parsing.AsOf(inv.Get(to)) is { } t)
            {
                if (t.PointCase == AsOf.PointOneofCase.Position) request.ToPosition = t.Position;
                else request.ToTime = t.Time;
            }
            var progress = inv.StderrIsTerminal ? new Progress(inv.Err) : null;
            var first = request.HasFromPosition ? request.FromPosition : 1;
            var last = request.HasToPosition ? request.ToPosition : (ulong?)null;
            var n = 0;
            await foreach (var e in inv.Client.ReplayAsync(request, inv.CancellationToken))
            {
                n++;
                if (inv.Get(json))
                    inv.WriteJson(e);
                else
                    inv.Out.WriteLine(Text.Event(e));
                progress?.Report(
                    e.Position - first + 1,
                    last is { } l && l >= first ? l - first + 1 : null,
                    $"{n} events, position {e.Position}");
            }
            progress?.Done($"{n} events replayed");
            return ExitCodes.Ok;
        });
    }
}
