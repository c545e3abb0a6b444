using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate claim blind</c> and <c>annotate claim reveal</c> (adjudicators).</summary>
public static class ClaimBlindCommand
{
    public static Command Blind()
    {
        var json = GlobalOptions.Json();
        var claim = new Argument<string?>("claim") { Description = "Claim id", Arity = ArgumentArity.ZeroOrOne };
        var article = new Option<string?>("--article") { Description = "Make this article blind for every claim opened on it from now on" };
        var command = new Command(
            "blind",
            """
            Makes a claim blind (adjudicator): an analyst sees the others' stances on it only after taking their own.

            Examples:
              annotate claim blind <claim-id>
              annotate claim blind --article russia-involvement-kazakhstan-crisis
            """) { claim, article, json };
        return command.Does(async inv =>
        {
            var request = new MakeBlindRequest { RequestId = inv.RequestId() };
            if (inv.Get(article) is { } a) request.ArticleId = a;
            else request.ClaimId = inv.Get(claim) ?? throw new UsageException("name a claim, or an article with --article");
            var result = await inv.Client.MakeBlindAsync(request, inv.CancellationToken);
            return inv.Write(json, result,
                () => $"Blind {(request.ArticleId.Length > 0 ? request.ArticleId : request.ClaimId)}: {Text.Result(result)}");
        });
    }

    public static Command Reveal()
    {
        var json = GlobalOptions.Json();
        var claim = new Argument<string>("claim") { Description = "Claim id" };
        var command = new Command("reveal", """
            Reveals a blind claim to everyone, for good (adjudicator).

            Examples:
              annotate claim reveal <claim-id>
            """) { claim, json };
        return command.Does(async inv =>
        {
            var result = await inv.Client.RevealClaimAsync(
                new RevealClaimRequest { RequestId = inv.RequestId(), ClaimId = inv.Get(claim)! }, inv.CancellationToken);
            return inv.Write(json, result, () => $"Revealed {inv.Get(claim)}: {Text.Result(result)}");
        });
    }
}
