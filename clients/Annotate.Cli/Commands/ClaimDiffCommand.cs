using System.CommandLine;
using System.Globalization;
using System.Text;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Cli.Commands;

/// <summary>
/// <c>annotate claim diff</c> and <c>annotate articles diff</c>: views at two moments side by side, each from the server's as-of
/// fold of the history (GetClaimView and ListClaims with as_of), so both sides are what the live views showed then.
/// </summary>
public static class ClaimDiffCommand
{
    private static (Option<string> From, Option<string?> To) Moments() =>
        (new Option<string>("--from") { Description = "The earlier moment: a position or a time", Required = true },
         new Option<string?>("--to") { Description = "The later moment: a position or a time (default: now)" });

    public static Command Claim()
    {
        var json = GlobalOptions.Json();
        var id = new Argument<string>("claim") { Description = "Claim id" };
        var (from, to) = Moments();
        var command = new Command(
            "diff",
            """
            Shows a claim's consensus view at two moments side by side (status, leading stance, agreement,
            tallies, stances, verdict, tags), and which of them changed.

            Examples:
              annotate claim diff <claim-id> --from 40 --to 2026-11-21T23:00:00Z
              annotate claim diff <claim-id> --from 40 --json
            """) { id, from, to, json };
        return command.Does(async inv =>
        {
            var claimId = inv.Get(id)!;
            var before = await ViewAsync(inv, claimId, Parsing.AsOf(inv.Get(from)));
            var after = await ViewAsync(inv, claimId, Parsing.AsOf(inv.Get(to)));
            if (inv.Get(json))
            {
                inv.Out.WriteLine($"{{\"from\": {Json(before)}, \"to\": {Json(after)}}}");
                return ExitCodes.Ok;
            }
            var rows = Rows(before).Zip(Rows(after), (b, a) => (b.Name, Before: b.Value, After: a.Value)).ToList();
            var sb = new StringBuilder();
            sb.AppendLine(CultureInfo.InvariantCulture, $"claim {claimId}: {inv.Get(from)} -> {inv.Get(to) ?? "now"}");
            foreach (var (name, b, a) in rows)
                sb.AppendLine(CultureInfo.InvariantCulture, $"{(b == a ? " " : "*")} {name,-10} {b,-40} {a}");
            inv.Out.Write(sb.ToString());
            return ExitCodes.Ok;
        });
    }

    public static Command Article()
    {
        var json = GlobalOptions.Json();
        var article = new Argument<string>("article") { Description = "Article id" };
        var (from, to) = Moments();
        var command = new Command(
            "diff",
            """
            Shows what changed in an article's claims between two moments: claims opened in between, and each
            claim whose status, leading stance, agreement or verdict differs.

            Examples:
              annotate articles diff kazakhstan-drawn-into-ukraine-war --from 40 --to 120
              annotate articles diff kazakhstan-drawn-into-ukraine-war --from 2026-11-21T23:00:00Z --json
            """) { article, from, to, json };
        return command.Does(async inv =>
        {
            var articleId = inv.Get(article)!;
            var before = await ClaimListCommand.AllAsync(inv, articleId, [], Parsing.AsOf(inv.Get(from)));
            var after = await ClaimListCommand.AllAsync(inv, articleId, [], Parsing.AsOf(inv.Get(to)));
            var old = before.Claims.ToDictionary(c => c.ClaimId, StringComparer.Ordinal);
            var changes = new List<(ClaimView? Before, ClaimView After)>();
            foreach (var c in after.Claims)
            {
                var b = old.GetValueOrDefault(c.ClaimId);
                if (b is null || !Rows(b).SequenceEqual(Rows(c))) changes.Add((b, c));
            }
            if (inv.Get(json))
            {
                foreach (var (b, a) in changes)
                    inv.Out.WriteLine($"{{\"claimId\": \"{a.ClaimId}\", \"from\": {Json(b)}, \"to\": {Json(a)}}}");
                return ExitCodes.Ok;
            }
            inv.Out.WriteLine(
                $"article {articleId}: position {before.AsOfPosition} -> {after.AsOfPosition}, {changes.Count} claim(s) changed");
            foreach (var (b, a) in changes)
            {
                var summary = b is null
                    ? $"opened; now {Parsing.Name(a.Status)}"
                    : string.Join("; ", Rows(b).Zip(Rows(a)).Where(p => p.First.Value != p.Second.Value)
                        .Select(p => $"{p.First.Name} {p.First.Value} -> {p.Second.Value}"));
                inv.Out.WriteLine($"  {a.ClaimId} {Text.Quote(a.Statement, 50)}: {summary}");
            }
            return ExitCodes.Ok;
        });
    }

    /// <summary>The view at a moment; null when the claim did not exist yet then.</summary>
    private static async Task<ClaimView?> ViewAsync(Invocation inv, string claimId, AsOf? at)
    {
        try
        {
            return await inv.Client.GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId, AsOf = at }, inv.CancellationToken);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound && at is not null
                                     && e.Status.Detail.Contains("did not exist yet", StringComparison.Ordinal))
        {
            return null;
        }
    }

    private static string Json(ClaimView? v) => v is null ? "null" : Invocation.Json(v);

    /// <summary>The compared properties of a view, by name (a missing view shows as "-").</summary>
    private static IEnumerable<(string Name, string Value)> Rows(ClaimView? v)
    {
        yield return ("status", v is null ? "(not opened)" : Parsing.Name(v.Status));
        yield return ("leading", v is null || v.LeadingStance == Stance.Unspecified ? "-" : Parsing.Name(v.LeadingStance));
        yield return ("agreement", v is null ? "-" : v.Agreement.ToString("0.####", CultureInfo.InvariantCulture));
        yield return ("tallies", v is null ? "-" : Text.Tallies(v));
        yield return ("stances", v is null || v.Stances.Count == 0
            ? "-"
            : string.Join(", ", v.Stances.Select(s => $"{s.Analyst} {Parsing.Name(s.Stance)}")));
        yield return ("verdict", v?.Adjudication is { } a ? $"{Parsing.Name(a.Verdict)} by {a.Adjudicator}" : "-");
        yield return ("tags", v is null || v.Tags.Count == 0 ? "-" : string.Join(", ", v.Tags.Select(t => $"{t.Tag} {t.Analysts.Count}")));
    }
}
