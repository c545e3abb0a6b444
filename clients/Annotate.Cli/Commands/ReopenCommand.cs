using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ReopenCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var claim = new Argument<string>("claim") { Description = "Claim id" };
        var reason = new Option<string?>("--reason") { Description = "Why the claim is reopened" };
        var command = new Command("reopen", """
            Reopens an adjudicated claim (adjudicator role): stances count again.

            Examples:
              annotate reopen <claim-id> --reason "new census data"
            """) { claim, reason, json };
        return command.Does(async inv =>
        {
            var result = await inv.Client.ReopenClaimAsync(
                new ReopenClaimRequest
                {
                    RequestId = inv.RequestId(),
                    ClaimId = inv.Get(claim)!,
                    Reason = inv.Get(reason) ?? "",
                },
                inv.CancellationToken);
            return inv.Write(json, result, () => $"Reopened {inv.Get(claim)}: {Text.Result(result)}");
        });
    }
}
