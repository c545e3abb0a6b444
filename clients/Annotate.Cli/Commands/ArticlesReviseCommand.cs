using System.CommandLine;
using System.Globalization;
using System.Text;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate articles revise</c>: a new text for an article, and where each annotation landed.</summary>
public static class ArticlesReviseCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var id = new Argument<string>("article") { Description = "Article id" };
        var file = new Argument<string>("file") { Description = "The full new text: a UTF-8 file, or - for standard input" };
        var reason = new Option<string?>("--reason") { Description = "Why the text changed (kept in the history)" };
        var command = new Command("revise", """
            Records a new text of an article as its next revision (admin). The server carries every highlight
            and claim onto it: each span is re-anchored (same place; its quote found by its context; or its
            edited passage found between unchanged context), with a score, or ORPHANED with the reason when
            it cannot be placed with confidence. Orphans keep their span on the older revision for review.
            The current text again changes nothing.

            Examples:
              annotate articles revise russia-involvement-kazakhstan-crisis corrected.txt --reason "poll figure corrected"
              sed 's/32%/31%/' old.txt | annotate articles revise russia-involvement-kazakhstan-crisis -
            """) { id, file, reason, json };
        return command.Does(async inv =>
        {
            var response = await inv.Client.ReviseArticleAsync(new ReviseArticleRequest
            {
                RequestId = inv.RequestId(),
                ArticleId = inv.Get(id)!,
                Text = await ReadTextAsync(inv.Get(file)!, inv.CancellationToken),
                Reason = inv.Get(reason) ?? "",
            }, inv.CancellationToken);
            return inv.Write(json, response, () => Describe(response));
        });
    }

    /// <summary>The file's text; invalid UTF-8 is refused here rather than sent with replacement characters.</summary>
    private static async Task<string> ReadTextAsync(string path, CancellationToken ct)
    {
        var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        try
        {
            if (path == "-")
            {
                using var stdin = new StreamReader(Console.OpenStandardInput(), strict);
                return await stdin.ReadToEndAsync(ct);
            }
            return await File.ReadAllTextAsync(path, strict, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DecoderFallbackException)
        {
            throw new UsageException($"cannot read {path}: {e.Message}");
        }
    }

    private static string Describe(ReviseArticleResponse r)
    {
        var sb = new StringBuilder();
        if (r.Spans.Count == 0 && r.Result.Deduplicated)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{r.Article.ArticleId} already has this text (revision {r.Article.Revision}).");
        }
        else
        {
            sb.AppendLine(
                CultureInfo.InvariantCulture,
                $"{r.Article.ArticleId} is now at revision {r.Article.Revision} ({r.Article.Length} code points).");
        }
        foreach (var s in r.Spans)
        {
            var now = s.Selector is null ? "" : $" -> {Text.Span(s.Selector)}";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"  {Parsing.Name(s.Kind)} {s.TargetId}: {Text.Span(s.Previous)}{now}\n    {Text.Anchor(s.Anchor)}");
        }
        var orphans = r.Spans.Count(s => s.Anchor.Status == AnchorStatus.Orphaned);
        if (orphans > 0) sb.AppendLine(CultureInfo.InvariantCulture, $"{orphans} orphaned: review them (`annotate articles show`).");
        sb.Append(Text.Result(r.Result));
        return sb.ToString();
    }
}
