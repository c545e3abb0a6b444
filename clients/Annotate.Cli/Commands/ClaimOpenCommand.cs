using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ClaimOpenCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var article = new Argument<string>("article") { Description = "Article id" };
        var statement = new Option<string?>("--statement") { Description = "The claim as a sentence (default: the quoted text)" };
        var quiet = new Option<bool>("--quiet", "-q")
        {
            Description = "Print only the claim id (for scripts: CLAIM=$(annotate claim open ... -q))",
        };
        var selector = new SelectorOptions();
        var command = new Command("open", """
            Opens a claim on a span. If a claim of the article already covers the same text, that claim is
            returned (marked "existing") instead of a duplicate.

            Examples:
              annotate claim open russia-involvement-kazakhstan-crisis --quote "Kazakhstan has a large Russian majority"
              annotate claim open kazakhstan-drawn-into-ukraine-war --start 120 --end 164 --statement "..."
              CLAIM=$(annotate claim open russia-involvement-kazakhstan-crisis --quote "large Russian majority" -q)
            """) { article, statement, json, quiet };
        selector.AddTo(command);
        return command.Does(async inv =>
        {
            var response = await inv.Client.OpenClaimAsync(new OpenClaimRequest
            {
                RequestId = inv.RequestId(),
                ArticleId = inv.Get(article)!,
                Selector = selector.Build(inv),
                Statement = inv.Get(statement) ?? "",
            }, inv.CancellationToken);
            if (inv.Get(quiet))
            {
                inv.Out.WriteLine(response.ClaimId);
                return ExitCodes.Ok;
            }
            return inv.Write(json, response, () =>
                $"{(response.Existing ? "Existing claim" : "Opened claim")} {response.ClaimId}: " +
                    $"{Text.Span(response.Selector)}\n{Text.Result(response.Result)}");
        });
    }
}
