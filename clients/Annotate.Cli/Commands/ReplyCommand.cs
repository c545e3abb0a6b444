using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ReplyCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var target = new Argument<string>("claim-or-highlight")
        {
            Description = "Claim id (c…) or highlight id (h…) whose thread the reply joins",
        };
        var text = new Argument<string>("text") { Description = "The reply, at most 4000 characters" };
        var to = new Option<string?>("--to") { Description = "Id of the reply answered (same thread)" };
        var command = new Command(
            "reply",
            """
            Replies in the discussion thread of a claim or a highlight, or answers a reply with --to.
            `annotate claim show <claim-id>` shows the thread; `annotate watch --article <id>` streams new replies.

            Examples:
              annotate reply <claim-id> "Is 1901 the opening or the first ship?"
              annotate reply <claim-id> "The opening, per the archive." --to <reply-id>
            """) { target, text, to, json };
        return command.Does(async inv =>
        {
            var id = inv.Get(target)!;
            var request = new PostReplyRequest
            {
                RequestId = inv.RequestId(),
                Target = id.StartsWith('h') ? new ReplyTarget { HighlightId = id } : new ReplyTarget { ClaimId = id },
                Body = inv.Get(text)!,
                ParentId = inv.Get(to) ?? "",
            };
            var response = await inv.Client.PostReplyAsync(request, inv.CancellationToken);
            return inv.Write(json, response, () => $"Reply {response.Reply.ReplyId} on {id}: {Text.Result(response.Result)}");
        });
    }
}
