using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class WithdrawCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var claim = new Argument<string>("claim") { Description = "Claim id" };
        var command = new Command("withdraw", """
            Withdraws your current stance on a claim.

            Examples:
              annotate withdraw <claim-id>
            """) { claim, json };
        return command.Does(async inv =>
        {
            var result = await inv.Client.WithdrawStanceAsync(
                new WithdrawStanceRequest { RequestId = inv.RequestId(), ClaimId = inv.Get(claim)! },
                inv.CancellationToken);
            return inv.Write(json, result, () => $"Withdrew your stance on {inv.Get(claim)}: {Text.Result(result)}");
        });
    }
}
