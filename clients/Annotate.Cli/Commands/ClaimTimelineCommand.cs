using System.CommandLine;
using System.Globalization;
using System.Text;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate claim timeline</c>: every change of a claim's consensus with its cause, and why it has its status.</summary>
public static class ClaimTimelineCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var id = new Argument<string>("claim") { Description = "Claim id" };
        var since = new Option<string?>("--since") { Description = "Only changes at or after this position or time" };
        var until = new Option<string?>("--until")
        {
            Description = "Only changes at or before this position or time (and the status then)",
        };
        var command = new Command(
            "timeline",
            """
            Shows every change of a claim's consensus status, leading stance or agreement, each with the event
            that caused it (position, time, analyst, event type, before and after), then why the claim has its
            status: the adjudication, or the current stances that decide it.

            Examples:
              annotate claim timeline <claim-id>
              annotate claim timeline <claim-id> --since 40 --until 2026-11-21T23:00:00Z --json
            """) { id, since, until, json };
        return command.Does(async inv =>
        {
            var timeline = await inv.Client.GetClaimTimelineAsync(new GetClaimTimelineRequest
            {
                ClaimId = inv.Get(id)!,
                Since = Parsing.AsOf(inv.Get(since)),
                Until = Parsing.AsOf(inv.Get(until)),
            }, inv.CancellationToken);
            return inv.Write(json, timeline, () => Render(timeline));
        });
    }

    private static string Render(ClaimTimeline t)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"claim {t.ClaimId} in {t.ArticleId}: {Text.Quote(t.Statement)} (through position {t.ThroughPosition})");
        foreach (var e in t.Entries)
        {
            var status = e.Before.Status == ClaimStatus.Unspecified
                ? $"opened {Parsing.Name(e.After.Status)}"
                : e.Before.Status == e.After.Status ? Parsing.Name(e.After.Status)
                : $"{Parsing.Name(e.Before.Status)} -> {Parsing.Name(e.After.Status)}";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"#{e.Position} {Text.Time(e.RecordedAt)} {e.Analyst} {e.EventType}: {status}; leading {Leading(e.After)}; " +
                $"agreement {e.Before.Agreement:0.##} -> {e.After.Agreement:0.##}; {Tallies(e.After)}");
        }
        var why = t.Why;
        sb.Append(CultureInfo.InvariantCulture, $"why {Parsing.Name(why.Status)}: {why.Explanation}");
        if (why.Adjudication is { } a)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"\n  verdict {Parsing.Name(a.Verdict)} by {a.Adjudicator} at {Text.Time(a.AdjudicatedAt)}: {Text.Quote(a.Rationale)}");
        }
        foreach (var s in why.Stances)
            sb.Append(CultureInfo.InvariantCulture, $"\n  {s.Analyst} {Parsing.Name(s.Stance)}: {Text.Quote(s.Rationale)}");
        return sb.ToString();
    }

    private static string Leading(ConsensusMoment m) => m.LeadingStance == Stance.Unspecified ? "none" : Parsing.Name(m.LeadingStance);

    internal static string Tallies(ConsensusMoment m) =>
        m.Tallies.Count == 0 ? "no stances" : string.Join(", ", m.Tallies.Select(x => $"{Parsing.Name(x.Stance)} {x.Count}"));
}
