using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class StanceCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var claim = new Argument<string>("claim") { Description = "Claim id" };
        var stance = new Argument<string>("stance") { Description = "supports, refutes, needs-context or unverifiable" };
        var rationale = new Option<string?>("--rationale") { Description = "Why" };
        var evidence = new Option<string[]>("--evidence")
        {
            Description = "A span backing the stance, ARTICLE:START-END or ARTICLE:quoted text (repeatable)",
        };
        var command = new Command(
            "stance",
            """
            Takes (or replaces) your stance on a claim. A dispute is a stance that refutes.

            Examples:
              annotate stance <claim-id> refutes --rationale "census says about 20 percent" \
                --evidence "kazakhstan-concerned-about-invasion:about 20 percent"
              annotate stance <claim-id> supports --evidence kazakhstan-crisis-saved-ukraine:100-140
            """) { claim, stance, rationale, evidence, json };
        return command.Does(async inv =>
        {
            var request = new TakeStanceRequest
            {
                RequestId = inv.RequestId(),
                ClaimId = inv.Get(claim)!,
                Stance = Parsing.Stance(inv.Get(stance)!),
                Rationale = inv.Get(rationale) ?? "",
            };
            request.Evidence.Add((inv.Get(evidence) ?? []).Select(Parsing.Evidence));
            var result = await inv.Client.TakeStanceAsync(request, inv.CancellationToken);
            return inv.Write(json, result, () => $"Stance {Parsing.Name(request.Stance)} on {request.ClaimId}: {Text.Result(result)}");
        });
    }
}
