using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class AdminAnalystsCommand
{
    public static Command Create()
    {
        var listJson = GlobalOptions.Json();
        var list = new Command("list", """
            Lists analysts with their roles.

            Examples:
              annotate admin analysts list --json
            """) { listJson };
        list.Does(async inv =>
        {
            var response = await inv.Client.ListAnalystsAsync(new ListAnalystsRequest(), inv.CancellationToken);
            return inv.Write(listJson, response, () => string.Join('\n', response.Analysts.Select(Line)));
        });

        var createJson = GlobalOptions.Json();
        var id = new Argument<string>("analyst") { Description = "Analyst id: 1-40 characters of [a-z0-9._-]" };
        var name = new Option<string?>("--name") { Description = "Display name" };
        var roles = Roles();
        var create = new Command("create", """
            Registers an analyst (exit code 6 if the id is taken).

            Examples:
              annotate admin analysts create aigerim --name "Aigerim S." --role analyst --role adjudicator
            """) { id, name, roles, createJson };
        create.Does(async inv =>
        {
            var request = new CreateAnalystRequest
            {
                RequestId = inv.RequestId(),
                AnalystId = inv.Get(id)!,
                DisplayName = inv.Get(name) ?? "",
            };
            request.Roles.Add(ParseRoles(inv, roles));
            var analyst = await inv.Client.CreateAnalystAsync(request, inv.CancellationToken);
            return inv.Write(createJson, analyst, () => "Created " + Line(analyst));
        });

        var rolesJson = GlobalOptions.Json();
        var rolesId = new Argument<string>("analyst") { Description = "Analyst id" };
        var newRoles = Roles();
        var setRoles = new Command("roles", """
            Replaces an analyst's roles.

            Examples:
              annotate admin analysts roles aigerim --role analyst --role auditor
            """) { rolesId, newRoles, rolesJson };
        setRoles.Does(async inv =>
        {
            var request = new SetRolesRequest { RequestId = inv.RequestId(), AnalystId = inv.Get(rolesId)! };
            request.Roles.Add(ParseRoles(inv, newRoles));
            var analyst = await inv.Client.SetRolesAsync(request, inv.CancellationToken);
            return inv.Write(rolesJson, analyst, () => "Updated " + Line(analyst));
        });

        return new Command("analysts", "Analysts and their roles.") { list, create, setRoles };
    }

    private static Option<string[]> Roles() => new("--role")
    {
        Description = "analyst, adjudicator, auditor or admin (repeatable)",
        Required = true,
    };

    private static IEnumerable<Role> ParseRoles(Invocation inv, Option<string[]> option) =>
        (inv.Get(option) ?? []).Select(Parsing.Role).ToList();

    private static string Line(Analyst a) =>
        $"{a.AnalystId,-20} {string.Join(",", a.Roles.Select(r => Parsing.Name(r))),-32} {a.DisplayName}";
}
