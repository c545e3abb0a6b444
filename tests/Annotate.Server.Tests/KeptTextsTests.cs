using Annotate.Contracts.V1;
using Xunit.Abstractions;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// The article texts a server process keeps (<c>Views.ResolvingAsync</c>): a span on an article it has read costs the
/// database the writer's transaction alone. What a kept text must never do (place a span on a text another replica has
/// revised) is in <see cref="ReplicaTests"/>.
/// </summary>
public sealed class KeptTextsTests(LiveServer server, ITestOutputHelper output) : IClassFixture<LiveServer>
{
    private const int Commands = 20;

    [Fact]
    public async Task A_highlight_on_an_article_the_server_has_read_costs_no_more_transactions_than_a_tag_which_reads_nothing()
    {
        var article = await server.ImportAsync("The bridge opened in 1932. Tolls ended in 1990. The river floods every spring.");
        var (_, ana) = await server.NewAnalystAsync("kept", Role.Analyst);
        var tagged = await HighlightAsync(article, ana); // the text is read (and kept) here, and the tag's target known
        await TagAsync(tagged, ana);
        await SettledStatistics.DisableAutovacuumAsync(server.ConnectionString);

        long highlights = long.MaxValue, tags = long.MaxValue;
        // The lowest of three windows each: what else the server does now and then (its once-a-second looks for revoked
        // tokens and erasures) falls into some windows and not others.
        for (var window = 0; window < 3; window++)
        {
            var before = await SettledStatistics.TransactionsAsync(server.ConnectionString);
            for (var i = 0; i < Commands; i++) await HighlightAsync(article, ana);
            var between = await SettledStatistics.TransactionsAsync(server.ConnectionString);
            for (var i = 0; i < Commands; i++) await TagAsync(tagged, ana);
            var after = await SettledStatistics.TransactionsAsync(server.ConnectionString);
            output.WriteLine($"{Commands} highlights: {between - before} transactions; {Commands} tags: {after - between}");
            highlights = Math.Min(highlights, between - before);
            tags = Math.Min(tags, after - between);
        }

        Assert.True(tags >= Commands, $"{Commands} tags cost {tags} transactions: the measurement is broken");
        // A read of the article before each highlight would add one transaction per highlight.
        Assert.True(highlights < tags + Commands / 2, $"{Commands} highlights cost {highlights} transactions, {Commands} tags {tags}");
    }

    private async Task<string> HighlightAsync(string article, CallOptions who) =>
        (await server.Channel.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("Tolls ended in 1990.") }, who))
        .Highlight.HighlightId;

    private async Task TagAsync(string highlight, CallOptions who) =>
        await server.Channel.Annotations().ApplyTagAsync(
            new ApplyTagRequest
            {
                RequestId = Rid(),
                Target = new TagTarget { HighlightId = highlight },
                Tag = $"t{Guid.NewGuid():N}"[..12],
            }, who);
}
