using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ClaimListCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var article = new Argument<string>("article") { Description = "Article id" };
        var statuses = new Option<string[]>("--status")
        {
            Description = "Only claims with this status (repeatable): pending, supported, " +
                                                                        "refuted, needs-context, unverifiable, contested, adjudicated"
        };
        var asOf = new Option<string?>("--as-of") { Description = "The claims as of a position or time" };
        var command = new Command("list", """
            Lists an article's claims in text order with their consensus status and tallies.

            Examples:
              annotate claim list kazakhstan-drawn-into-ukraine-war
              annotate claim list kazakhstan-drawn-into-ukraine-war --status contested --status refuted --json
            """) { article, statuses, asOf, json };
        return command.Does(async inv =>
        {
            var wanted = (inv.Get(statuses) ?? []).Select(Parsing.Status).ToList();
            var all = await AllAsync(inv, inv.Get(article)!, wanted, Parsing.AsOf(inv.Get(asOf)));
            return inv.Write(
                json,
                all,
                () =>
                    all.Claims.Count == 0
                        ? "No claims."
                        : string.Join(
                            '\n',
                            all.Claims.Select(c =>
                                $"{c.ClaimId}  {Parsing.Name(c.Status),-13} {Text.Tallies(c),-28} {Text.Span(c.Selector)}")));
        });
    }

    /// <summary>Every page of ListClaims, as one response.</summary>
    public static async Task<ListClaimsResponse> AllAsync(Invocation inv, string articleId, IEnumerable<ClaimStatus> statuses, AsOf? asOf)
    {
        ArgumentNullException.ThrowIfNull(inv);
        var all = new ListClaimsResponse();
        var token = "";
        do
        {
            var request = new ListClaimsRequest
            {
                ArticleId = articleId,
                Page = new PageRequest { PageSize = 500, PageToken = token },
                AsOf = asOf,
            };
            request.Statuses.Add(statuses);
            var page = await inv.Client.ListClaimsAsync(request, inv.CancellationToken);
            all.Claims.Add(page.Claims);
            all.AsOfPosition = page.AsOfPosition;
            // Later pages are read as of the first page's position, so the pages agree with each other.
            if (page.AsOfPosition > 0) asOf ??= new AsOf { Position = page.AsOfPosition };
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return all;
    }
}
