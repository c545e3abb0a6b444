using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class AdjudicateCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var claim = new Argument<string>("claim") { Description = "Claim id" };
        var verdict = new Argument<string>("verdict") { Description = "supports, refutes, needs-context or unverifiable" };
        var rationale = new Option<string?>("--rationale") { Description = "Why" };
        var expected = new Option<long?>("--expected-version")
        {
            Description = "The claim version you reviewed (claim show prints it); refused with exit code 6 if the claim changed since. " +
                          "Default: the current version",
        };
        var command = new Command("adjudicate", """
            Records a verdict that overrides the vote (adjudicator role), until the claim is reopened.

            Examples:
              annotate adjudicate <claim-id> refutes --rationale "2021 census: about 15 percent" --expected-version 4
            """) { claim, verdict, rationale, expected, json };
        return command.Does(async inv =>
        {
            var claimId = inv.Get(claim)!;
            var version = inv.Get(expected)
                ?? (await inv.Client.GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, inv.CancellationToken)).Version;
            var result = await inv.Client.AdjudicateAsync(new AdjudicateRequest
            {
                RequestId = inv.RequestId(),
                ClaimId = claimId,
                Verdict = Parsing.Stance(inv.Get(verdict)!),
                Rationale = inv.Get(rationale) ?? "",
                ExpectedVersion = version,
            }, inv.CancellationToken);
            return inv.Write(json, result, () => $"Adjudicated {claimId}: {Text.Result(result)}");
        });
    }
}
