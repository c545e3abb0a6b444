using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate reattach</c>: review a span a revision orphaned or moved.</summary>
public static class ReattachCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var highlight = new Option<string?>("--highlight") { Description = "Highlight id whose span to review" };
        var claim = new Option<string?>("--claim") { Description = "Claim id whose span to review" };
        var selector = new SelectorOptions();
        var command = new Command("reattach", """
            Reviews a span that a revision of its article orphaned or re-anchored (the span's author, an
            adjudicator or an admin): with --quote or --start/--end, attaches it there on the article's current
            text; without, confirms the span the revision gave it.

            Examples:
              annotate reattach --highlight <highlight-id> --quote "Russian majority" --prefix "the "
              annotate reattach --claim <claim-id>
            """) { highlight, claim, json };
        selector.AddTo(command);
        return command.Does(async inv =>
        {
            var target = (inv.Get(highlight), inv.Get(claim)) switch
            {
                ({ } h, null) => new TagTarget { HighlightId = h },
                (null, { } c) => new TagTarget { ClaimId = c },
                _ => throw new UsageException("give exactly one of --highlight <id> or --claim <id>"),
            };
            var request = new ReattachSpanRequest { RequestId = inv.RequestId(), Target = target };
            if (inv.Get(selector.Quote) is not null || inv.Get(selector.Start) is not null || inv.Get(selector.End) is not null)
            {
                request.Selector = selector.Build(inv);
            }
            var response = await inv.Client.ReattachSpanAsync(request, inv.CancellationToken);
            var id = target.HighlightId.Length > 0 ? target.HighlightId : target.ClaimId;
            return inv.Write(json, response, () =>
                $"{(request.Selector is null ? "Confirmed" : "Reattached")} {id}: {Text.Span(response.Selector)}\n" +
                $"  {Text.Anchor(response.Anchor)}\n{Text.Result(response.Result)}");
        });
    }
}
