using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ExportCommand
{
    public static Command Create()
    {
        var article = new Argument<string>("article") { Description = "Article id" };
        var format = new Option<string>("--format")
        {
            Description = "w3c (Web Annotation JSON-LD of highlights, claims and stances) or csv (consensus views)",
            Required = true,
        };
        format.AcceptOnlyFromAmong("w3c", "csv");
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file instead of stdout" };
        var asOf = new Option<string?>("--as-of") { Description = "As of a position or time" };
        var command = new Command("export", """
            Exports an article's annotations.

            Examples:
              annotate export kazakhstan-drawn-into-ukraine-war --format w3c -o annotations.jsonld
              annotate export kazakhstan-drawn-into-ukraine-war --format csv > claims.csv
            """) { article, format, output, asOf };
        return command.Does(async inv =>
        {
            var articleId = inv.Get(article)!;
            var at = Parsing.AsOf(inv.Get(asOf));
            var claims = await ClaimListCommand.AllAsync(inv, articleId, [], at);
            string text;
            if (inv.Get(format) == "csv")
            {
                text = Exporters.Csv(claims.Claims);
            }
            else
            {
                var a = await inv.Client.GetArticleAsync(new GetArticleRequest { ArticleId = articleId }, inv.CancellationToken);
                var highlights = await inv.Client.ListHighlightsAsync(
                    new ListHighlightsRequest { ArticleId = articleId, AsOf = at },
                    inv.CancellationToken);
                text = Exporters.W3c(a, highlights.Highlights, claims.Claims) + "\n";
            }
            if (inv.Get(output) is { } path) await File.WriteAllTextAsync(path, text, inv.CancellationToken);
            else await inv.Out.WriteAsync(text);
            return ExitCodes.Ok;
        });
    }
}
