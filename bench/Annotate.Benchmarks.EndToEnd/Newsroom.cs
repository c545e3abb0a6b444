using System.Text;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>An article the desk works on, and its length in code points (what positions count).</summary>
internal sealed record BenchArticle(string Id, int Length);

/// <summary>A registered analyst and the token they call with.</summary>
internal sealed record BenchAnalyst(string Id, Metadata Auth);

/// <summary>
/// What every scenario starts from, built through the public API as the admin: the articles (the texts in
/// seeds/), analysts with tokens of their own, and on each article two claims the whole desk argues about.
/// </summary>
internal sealed class Newsroom
{
    private readonly List<string> _claims = [];

    private Newsroom(
        IReadOnlyList<BenchArticle> articles,
        IReadOnlyList<BenchAnalyst> analysts,
        IReadOnlyList<BenchAnalyst> readers,
        IReadOnlyList<string> hot,
        IReadOnlyList<(string ArticleId, int Start, int End)> hotSpans)
    {
        Articles = articles;
        Analysts = analysts;
        Readers = readers;
        HotClaims = hot;
        HotSpans = hotSpans;
        _claims.AddRange(hot);
    }

    public IReadOnlyList<BenchArticle> Articles { get; }
    public IReadOnlyList<BenchAnalyst> Analysts { get; }
    /// <summary>Analysts who only watch (subscribers), each holding several streams as a desk's consoles do.</summary>
    public IReadOnlyList<BenchAnalyst> Readers { get; }
    public IReadOnlyList<string> HotClaims { get; }
    public IReadOnlyList<(string ArticleId, int Start, int End)> HotSpans { get; }

    public void AddClaim(string claimId)
    {
        lock (_claims) _claims.Add(claimId);
    }

    public string AnyClaim(Random rng)
    {
        lock (_claims) return _claims[rng.Next(_claims.Count)];
    }

    public static async Task<Newsroom> SetUpAsync(Api api, string adminToken, string seedDirectory, int analysts, int readers)
    {
        var admin = Api.Bearer(adminToken);
        var articles = new List<BenchArticle>();
        foreach (var (file, i) in Directory.GetFiles(seedDirectory, "*.txt").Order(StringComparer.Ordinal).Select((f, i) => (f, i)))
        {
            var text = await File.ReadAllTextAsync(file, Encoding.UTF8);
            var id = $"bench-article-{i}";
            await api.Articles.ImportArticleAsync(new ImportArticleRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                ArticleId = id,
                Title = text.Split('\n')[0].Trim(),
                Text = text,
                Source = Path.GetFileName(file),
            }, Api.As(admin));
            articles.Add(new BenchArticle(id, text.EnumerateRunes().Count()));
        }
        if (articles.Count == 0) throw new InvalidOperationException($"no article texts (*.txt) in {seedDirectory}");

        var desk = new List<BenchAnalyst>();
        for (var i = 0; i < analysts; i++) desk.Add(await RegisterAsync(api, admin, $"analyst-{i:D3}", Role.Analyst));
        var watchers = new List<BenchAnalyst>();
        for (var i = 0; i < readers; i++) watchers.Add(await RegisterAsync(api, admin, $"reader-{i:D3}", Role.Analyst));

        // Two hot claims per article, opened by the first analyst: most stances of the run land on them.
        var hot = new List<string>();
        var spans = new List<(string, int, int)>();
        foreach (var article in articles)
        {
            foreach (var at in new[] { 0.2, 0.6 })
            {
                var start = (int)(article.Length * at);
                var end = Math.Min(article.Length, start + 80);
                var opened = await api.Claims.OpenClaimAsync(new OpenClaimRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    ArticleId = article.Id,
                    Selector = new Selector { Position = new TextPosition { Start = (uint)start, End = (uint)end } },
                }, Api.As(desk[0].Auth));
                hot.Add(opened.ClaimId);
                spans.Add((article.Id, start, end));
            }
        }
        return new Newsroom(articles, desk, watchers, hot, spans);
    }

    /// <summary>An analyst registered by the admin, with a token of their own.</summary>
    public static async Task<BenchAnalyst> RegisterAsync(Api api, Metadata admin, string id, Role role)
    {
        var create = new CreateAnalystRequest { RequestId = Guid.NewGuid().ToString(), AnalystId = id, DisplayName = id };
        create.Roles.Add(role);
        await api.Admin.CreateAnalystAsync(create, Api.As(admin));
        var issued = await api.Admin.IssueTokenAsync(
            new IssueTokenRequest
            {
                RequestId = Guid.NewGuid().ToString(),
                AnalystId = id,
                Label = "bench",
            },
            Api.As(admin));
        return new BenchAnalyst(id, Api.Bearer(issued.Secret));
    }
}
