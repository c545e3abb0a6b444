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

        var eraseJson = GlobalOptions.Json();
        var eraseId = new Argument<string>("analyst") { Description = "Analyst id" };
        var reason = new Option<string>("--reason")
        {
            Description = "Why (e.g. the request it answers); recorded with the erasure",
            Required = true,
        };
        var erase = new Command("erase", """
            Erases an analyst's personal data: their display name, their tokens' labels and every text they wrote
            (notes, typed claim statements, rationales, reasons, replies) are replaced in the log and every view;
            ids, spans, stances and verdicts stay, and the analyst shows by id. The erasure is recorded as an event
            (who, whom, why, what) and the audit chain still verifies. Revokes their tokens. Running it again changes
            nothing.

            Examples:
              annotate admin analysts erase aigerim --reason "Erasure request 2026-114"
            """) { eraseId, reason, eraseJson };
        erase.Does(async inv =>
        {
            var request = new EraseAnalystRequest { RequestId = inv.RequestId(), AnalystId = inv.Get(eraseId)!, Reason = inv.Get(reason)! };
            var response = await inv.Client.EraseAnalystAsync(request, inv.CancellationToken);
            return inv.Write(eraseJson, response, () => response.Result.Deduplicated
                ? $"{request.AnalystId}: nothing left to erase ({response.ErasedPositions.Count} events erased before)"
                : $"Erased {request.AnalystId}: {response.ErasedPositions.Count} events masked, "
                    + $"erasure recorded at position {response.ErasurePosition}");
        });

        return new Command("analysts", "Analysts and their roles.") { list, create, setRoles, erase };
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
