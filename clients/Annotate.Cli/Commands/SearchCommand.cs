using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class SearchCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var words = new Argument<string>("words") { Description = "What to find; web-search syntax: words, \"a phrase\", or, -excluded" };
        var article = new Option<string?>("--article") { Description = "Only in this article" };
        var analyst = new Option<string?>("--analyst") { Description = "Only what this analyst wrote" };
        var tag = new Option<string?>("--tag") { Description = "Only on highlights and claims carrying this tag" };
        var statuses = new Option<string[]>("--status") { Description = "Only on claims with this status (repeatable)" };
        var from = new Option<string?>("--from") { Description = "Only what was written at or after this time" };
        var to = new Option<string?>("--to") { Description = "Only what was written before this time" };
        var limit = new Option<uint>("--limit") { Description = "At most this many hits (default 50, at most 500)" };
        var page = new Option<string?>("--page") { Description = "The next-page token a previous search printed" };
        var command = new Command(
            "search",
            """
            Full-text search over article texts, highlight notes, claim statements, rationales and replies,
            most relevant first. Blind claims' rationales stay out until you took your own stance.

            Examples:
              annotate search "census"
              annotate search "russian majority" --article russia-involvement-kazakhstan-crisis --status contested --json
            """) { words, article, analyst, tag, statuses, from, to, limit, page, json };
        return command.Does(async inv =>
        {
            var request = new SearchRequest
            {
                Query = inv.Get(words)!,
                ArticleId = inv.Get(article) ?? "",
                AnalystId = inv.Get(analyst) ?? "",
                Tag = inv.Get(tag) ?? "",
                From = inv.Get(from) is { } f ? Parsing.Time(f) : null,
                To = inv.Get(to) is { } t ? Parsing.Time(t) : null,
                Page = new PageRequest { PageSize = inv.Get(limit), PageToken = inv.Get(page) ?? "" },
            };
            request.Statuses.Add((inv.Get(statuses) ?? []).Select(Parsing.Status));
            var response = await inv.Client.SearchAsync(request, inv.CancellationToken);
            return inv.Write(json, response, () =>
            {
                if (response.Hits.Count == 0) return "Nothing found.";
                var lines = response.Hits.Select(h =>
                    $"{Parsing.Name(h.Kind),-16} {h.ArticleId} {Where(h)}{h.Analyst}: {h.Text.ReplaceLineEndings(" ")}");
                var more = response.NextPageToken.Length > 0 ? $"\n(more: --page {response.NextPageToken})" : "";
                return string.Join('\n', lines) + more;
            });
        });
    }

    private static string Where(SearchHit h) =>
        h.ReplyId.Length > 0 ? $"{h.ReplyId} "
        : h.ClaimId.Length > 0 ? $"{h.ClaimId} "
        : h.HighlightId.Length > 0 ? $"{h.HighlightId} "
        : "";
}
