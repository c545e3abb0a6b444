using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate tag</c> and its mirror <c>annotate untag</c>: same arguments, opposite RPCs.</summary>
public static class TagCommand
{
    public static Command Create(bool apply)
    {
        var json = GlobalOptions.Json();
        var tag = new Argument<string>("tag") { Description = "Tag name (normalised: lower-case, spaces as '-')" };
        var highlight = new Option<string?>("--highlight") { Description = "Highlight id to tag" };
        var claim = new Option<string?>("--claim") { Description = "Claim id to tag" };
        var name = apply ? "tag" : "untag";
        var command = new Command(name, $"""
            {(apply ? "Applies a tag to" : "Removes your tag from")} a highlight or a claim.

            Examples:
              annotate {name} demographics --claim <claim-id>
              annotate {name} needs-source --highlight <highlight-id>
            """) { tag, highlight, claim, json };
        return command.Does(async inv =>
        {
            var target = (inv.Get(highlight), inv.Get(claim)) switch
            {
                ({ } h, null) => new TagTarget { HighlightId = h },
                (null, { } c) => new TagTarget { ClaimId = c },
                _ => throw new UsageException("give exactly one of --highlight <id> or --claim <id>"),
            };
            var result = apply
                ? await inv.Client.ApplyTagAsync(
                    new ApplyTagRequest
                    {
                        RequestId = inv.RequestId(),
                        Target = target,
                        Tag = inv.Get(tag)!,
                    },
                    inv.CancellationToken)
                : await inv.Client.RemoveTagAsync(
                    new RemoveTagRequest
                    {
                        RequestId = inv.RequestId(),
                        Target = target,
                        Tag = inv.Get(tag)!,
                    },
                    inv.CancellationToken);
            return inv.Write(json, result, () => $"{(apply ? "Tagged" : "Untagged")} {result.StreamId}: {Text.Result(result)}");
        });
    }
}
