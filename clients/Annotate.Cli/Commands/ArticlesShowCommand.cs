using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

public static class ArticlesShowCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var id = new Argument<string>("article") { Description = "Article id, e.g. kazakhstan-drawn-into-ukraine-war" };
        var asOf = new Option<string?>("--as-of") { Description = "Show the annotations as of a position or time" };
        var command = new Command("show", """
            Prints an article's text with its highlights and claims marked, then a legend. On a terminal the
            highlights are shaded and claims underlined in the colour of their consensus status; when piped (or
            with NO_COLOR) highlights are written [like this] and claims {like this}[n].
            --json prints one object: {"article": ..., "highlights": ..., "claims": ...}.

            Examples:
              annotate articles show kazakhstan-drawn-into-ukraine-war
              annotate articles show kazakhstan-drawn-into-ukraine-war --as-of 120 | less
            """) { id, json, asOf };
        return command.Does(async inv =>
        {
            var articleId = inv.Get(id)!;
            var article = await inv.Client.GetArticleAsync(new GetArticleRequest { ArticleId = articleId }, inv.CancellationToken);
            var at = Parsing.AsOf(inv.Get(asOf));
            var highlights = await inv.Client.ListHighlightsAsync(
                new ListHighlightsRequest { ArticleId = articleId, AsOf = at },
                inv.CancellationToken);
            var claims = await ClaimListCommand.AllAsync(inv, articleId, [], at);
            if (inv.Get(json))
            {
                inv.Out.WriteLine(
                    $"{{\"article\":{Invocation.Json(article)},\"highlights\":{Invocation.Json(highlights)}," +
                    $"\"claims\":{Invocation.Json(claims)}}}");
                return ExitCodes.Ok;
            }
            inv.Out.WriteLine(ArticleRenderer.Render(article, highlights.Highlights, claims.Claims, inv.Color));
            return ExitCodes.Ok;
        });
    }
}
