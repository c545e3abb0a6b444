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
            Description = "w3c (Web Annotation JSON-LD of highlights, claims and stances), csv (consensus views) or claimreview " +
                          "(schema.org ClaimReview JSON-LD of decided and adjudicated claims)",
            Required = true,
        };
        format.AcceptOnlyFromAmong("w3c", "csv", "claimreview");
        var output = new Option<string?>("--output", "-o") { Description = "Write to this file instead of stdout" };
        var asOf = new Option<string?>("--as-of") { Description = "As of a position or time" };
        var orgName = new Option<string?>("--org-name")
        {
            Description = "claimreview: the organisation named as the reviews' author (default $ANNOTATE_ORG_NAME)",
        };
        var orgUrl = new Option<string?>("--org-url") { Description = "claimreview: the organisation's url (default $ANNOTATE_ORG_URL)" };
        var urlBase = new Option<string?>("--url-base")
        {
            Description = "claimreview: where the reviews are published; each review's url is <base>/claims/<id> " +
                          "(default $ANNOTATE_REVIEW_URL_BASE)",
        };
        var command = new Command("export", """
            Exports an article's annotations.

            Examples:
              annotate export kazakhstan-drawn-into-ukraine-war --format w3c -o annotations.jsonld
              annotate export kazakhstan-drawn-into-ukraine-war --format csv > claims.csv
              annotate export russia-involvement-kazakhstan-crisis --format claimreview --org-name "Example Desk" \
                --url-base https://factcheck.example.org
            """) { article, format, output, asOf, orgName, orgUrl, urlBase };
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
            else if (inv.Get(format) == "claimreview")
            {
                var publisher = new ClaimReviewPublisher(
                    Setting(inv, orgName, "ANNOTATE_ORG_NAME")
                        ?? throw new UsageException("claimreview needs --org-name (the reviewing organisation)"),
                    Setting(inv, orgUrl, "ANNOTATE_ORG_URL"),
                    Setting(inv, urlBase, "ANNOTATE_REVIEW_URL_BASE") is { } b && Uri.TryCreate(b, UriKind.Absolute, out var u)
                        && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp)
                        ? b
                        : throw new UsageException("claimreview needs --url-base: an http(s) address where the reviews are published"));
                var a = await inv.Client.GetArticleAsync(new GetArticleRequest { ArticleId = articleId }, inv.CancellationToken);
                text = ClaimReviewExporter.Export(a, claims.Claims, publisher) + "\n";
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

    private static string? Setting(Invocation inv, Option<string?> option, string variable) =>
        inv.Get(option) is { Length: > 0 } value ? value : inv.Environment.GetValueOrDefault(variable) is { Length: > 0 } env ? env : null;
}
