using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class AgreementCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var article = new Argument<string>("article") { Description = "Article id" };
        var asOf = new Option<string?>("--as-of") { Description = "As of a position or time" };
        var command = new Command("agreement", """
            Inter-analyst agreement on an article's claims: Krippendorff's alpha (nominal).

            Examples:
              annotate agreement kazakhstan-drawn-into-ukraine-war
              annotate agreement kazakhstan-drawn-into-ukraine-war --as-of 2026-11-21T12:00:00Z --json
            """) { article, asOf, json };
        return command.Does(async inv =>
        {
            var a = await inv.Client.GetArticleAgreementAsync(
                new GetArticleAgreementRequest { ArticleId = inv.Get(article)!, AsOf = Parsing.AsOf(inv.Get(asOf)) },
                inv.CancellationToken);
            return inv.Write(
                json,
                a,
                () =>
                $"{a.ArticleId}: alpha " +
                    $"{(a.HasAlpha ? a.Alpha.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : "undefined")}"
                + $" (D_o {a.ObservedDisagreement:0.###}, D_e {a.ExpectedDisagreement:0.###}); {a.Units} claims, {a.Analysts} analysts, " +
                  $"{a.PairableValues} pairable values; as of position {a.AsOfPosition}");
        });
    }
}
