using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ClaimShowCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var id = new Argument<string>("claim") { Description = "Claim id" };
        var asOf = new Option<string?>("--as-of") { Description = "The view as of a position or time" };
        var minPosition = new Option<ulong>("--min-position")
        {
            Description = "Wait until the view reflects at least this position (read your own write)",
        };
        var command = new Command(
            "show",
            """
            Shows a claim's consensus view: status, tallies, stances, evidence, tags, verdict, and its
            discussion thread (text output; `annotate reply` adds to it).

            Examples:
              annotate claim show <claim-id>
              annotate claim show <claim-id> --as-of 120 --json
            """) { id, asOf, minPosition, json };
        return command.Does(async inv =>
        {
            var view = await inv.Client.GetClaimViewAsync(new GetClaimViewRequest
            {
                ClaimId = inv.Get(id)!,
                AsOf = Parsing.AsOf(inv.Get(asOf)),
                MinPosition = inv.Get(minPosition),
            }, inv.CancellationToken);
            // The thread as it stands now; an as-of view shows none rather than a later discussion.
            var thread = inv.Get(asOf) is null
                ? await inv.Client.ListThreadAsync(
                    new ListThreadRequest { Target = new ReplyTarget { ClaimId = view.ClaimId } }, inv.CancellationToken)
                : new ListThreadResponse();
            return inv.Write(json, view, () => thread.Replies.Count == 0
                ? Text.Claim(view)
                : $"{Text.Claim(view)}\n  discussion:\n{Text.Thread(thread.Replies)}");
        });
    }
}
