using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class HighlightCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var article = new Argument<string>("article") { Description = "Article id" };
        var note = new Option<string?>("--note") { Description = "A note on the highlight" };
        var tags = new Option<string[]>("--tag")
        {
            Description = "A tag to apply at once (repeatable)",
            AllowMultipleArgumentsPerToken = false,
        };
        var selector = new SelectorOptions();
        var command = new Command("highlight", """
            Highlights a span of an article, by quote or by code-point position.

            Examples:
              annotate highlight kazakhstan-drawn-into-ukraine-war --quote "Russian majority" --note "check census" --tag demographics
              annotate highlight kazakhstan-drawn-into-ukraine-war --start 120 --end 164
            """) { article, note, tags, json };
        selector.AddTo(command);
        return command.Does(async inv =>
        {
            var request = new CreateHighlightRequest
            {
                RequestId = inv.RequestId(),
                ArticleId = inv.Get(article)!,
                Selector = selector.Build(inv),
                Note = inv.Get(note) ?? "",
            };
            request.Tags.Add(inv.Get(tags) ?? []);
            var response = await inv.Client.CreateHighlightAsync(request, inv.CancellationToken);
            return inv.Write(json, response, () =>
                $"Highlighted {response.Highlight.HighlightId}: {Text.Span(response.Highlight.Selector)}\n{Text.Result(response.Result)}");
        });
    }
}
