using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class RetractCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var id = new Argument<string>("highlight") { Description = "Highlight id (only its author may retract it)" };
        var command = new Command("retract", """
            Retracts one of your highlights (history keeps it).

            Examples:
              annotate retract <highlight-id>
            """) { id, json };
        return command.Does(async inv =>
        {
            var result = await inv.Client.RetractHighlightAsync(
                new RetractHighlightRequest { RequestId = inv.RequestId(), HighlightId = inv.Get(id)! },
                inv.CancellationToken);
            return inv.Write(json, result, () => $"Retracted {inv.Get(id)}: {Text.Result(result)}");
        });
    }
}
