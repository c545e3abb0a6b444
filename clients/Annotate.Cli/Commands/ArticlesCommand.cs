using System.CommandLine;
using Annotate.Cli.Infrastructure;
using Annotate.Contracts.V1;

namespace Annotate.Cli.Commands;

/// <summary><c>annotate articles list</c>; <c>show</c> lives in <see cref="ArticlesShowCommand"/>.</summary>
public static class ArticlesCommand
{
    public static Command Create()
    {
        var json = GlobalOptions.Json();
        var list = new Command("list", """
            Lists the articles (id, length in code points, title).

            Examples:
              annotate articles list
              annotate articles list --json
            """) { json };
        list.Does(async inv =>
        {
            var all = new ListArticlesResponse();
            var page = new PageRequest { PageSize = 500 };
            do
            {
                var response = await inv.Client.ListArticlesAsync(new ListArticlesRequest { Page = page }, inv.CancellationToken);
                all.Articles.Add(response.Articles);
                page = new PageRequest { PageSize = 500, PageToken = response.NextPageToken };
            }
            while (page.PageToken.Length > 0);
            return inv.Write(json, all, () => all.Articles.Count == 0 ? "No articles."
                : string.Join('\n', all.Articles.Select(a => $"{a.ArticleId,-40} {a.Length,7}  {a.Title}")));
        });
        return new Command("articles", "Articles: the texts analysts annotate.")
        {
            list, ArticlesShowCommand.Create(), ArticlesReviseCommand.Create(), ClaimDiffCommand.Article(),
        };
    }
}
