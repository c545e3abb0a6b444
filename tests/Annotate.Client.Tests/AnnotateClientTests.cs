using System.Threading.Channels;
using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>The client's live streams against a real server that is restarted under them.</summary>
public sealed class AnnotateClientTests(CliServer fixture) : IClassFixture<CliServer>
{
    private const string Article = "kazakhstan-crisis-saved-ukraine";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private async Task<AnnotateClient> AnalystAsync(string id)
    {
        using var admin = new AnnotateClient(fixture.Server.Address, fixture.Server.AdminToken);
        var create = new CreateAnalystRequest { AnalystId = id, DisplayName = id };
        create.Roles.Add(Role.Analyst);
        await admin.CreateAnalystAsync(create);
        var issued = await admin.IssueTokenAsync(new IssueTokenRequest { AnalystId = id, Label = "test" });
        return new AnnotateClient(new AnnotateClientOptions
        {
            Address = fixture.Server.Address,
            Token = issued.Secret,
            StreamRetry = RetryPolicy.Default with { MaxAttempts = int.MaxValue, MaxBackoff = TimeSpan.FromSeconds(1) },
        });
    }

    /// <summary>Pumps a stream into a channel so the test can wait for items with a deadline.</summary>
    private static ChannelReader<T> Pump<T>(IAsyncEnumerable<T> items, CancellationToken ct)
    {
        var channel = Channel.CreateUnbounded<T>();
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in items.WithCancellation(ct)) await channel.Writer.WriteAsync(item, ct);
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        }, ct);
        return channel.Reader;
    }

    private static async Task<T> NextMatching<T>(ChannelReader<T> reader, List<T> seen, Func<T, bool> match)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (true)
        {
            var item = await reader.ReadAsync(timeout.Token);
            seen.Add(item);
            if (match(item)) return item;
        }
    }

    [Fact]
    public async Task A_call_past_its_deadline_fails_with_deadline_exceeded_and_is_not_retried()
    {
        var retries = new List<RetryNotice>();
        using var client = new AnnotateClient(new AnnotateClientOptions
        {
            Address = fixture.Server.Address,
            Token = fixture.Server.AdminToken,
            UnaryDeadline = TimeSpan.Zero,
            OnRetry = retries.Add,
        });

        var e = await Assert.ThrowsAsync<RpcException>(() => client.WhoAmIAsync());

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Empty(retries);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:50051")]
    [InlineData("127.0.0.1:50051")]
    public void An_address_that_is_not_http_or_https_is_refused_at_once(string address) =>
        Assert.ThrowsAny<ArgumentException>(() => new AnnotateClient(address));

    [Fact]
    public async Task Subscribe_delivers_every_event_once_in_order_across_a_server_restart()
    {
        using var client = await AnalystAsync("sub-analyst");
        var first = await client.CreateHighlightAsync(new CreateHighlightRequest
        {
            ArticleId = Article,
            Selector = new Selector { Quote = new TextQuote { Exact = "giving the United States limited influence" } },
        });
        var after = first.Result.Position - 1;
        using var cts = new CancellationTokenSource(Patience * 2);
        var reader = Pump(client.SubscribeAsync(after, ct: cts.Token), cts.Token);
        var seen = new List<SubscribeResponse>();
        await NextMatching(reader, seen, r => r.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition);

        await fixture.Server.StopAsync();
        await fixture.Server.StartAsync();
        var tagged = await client.ApplyTagAsync(
            new ApplyTagRequest
            {
                Target = new TagTarget { HighlightId = first.Highlight.HighlightId },
                Tag = "influence",
            });
        await NextMatching(reader, seen, r => r.Event?.Position == tagged.Position);
        await cts.CancelAsync();

        var positions = seen.Where(r => r.Event is not null).Select(r => r.Event.Position).ToList();
        // Gap-free and duplicate-free: exactly the positions after the start, up to the last command.
        Assert.Equal(Enumerable.Range((int)after + 1, (int)(tagged.Position - after)).Select(p => (ulong)p), positions);
    }

    [Fact]
    public async Task WatchArticle_shows_each_change_once_and_catches_up_after_a_server_restart()
    {
        using var client = await AnalystAsync("watch-analyst");
        using var other = await AnalystAsync("watch-other");
        var claim = await client.OpenClaimAsync(new OpenClaimRequest
        {
            ArticleId = Article,
            Selector = new Selector
            {
                Quote = new TextQuote { Exact = "The crisis in Kazakhstan would make a war in Ukraine less likely" },
            },
        });
        using var cts = new CancellationTokenSource(Patience * 2);
        var reader = Pump(client.WatchArticleAsync(Article, cts.Token), cts.Token);
        var seen = new List<WatchArticleResponse>();
        await NextMatching(reader, seen, r => r.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition);
        Assert.Contains(seen, r => r.View?.ClaimId == claim.ClaimId);

        var before = await other.TakeStanceAsync(new TakeStanceRequest { ClaimId = claim.ClaimId, Stance = Stance.Supports });
        await NextMatching(reader, seen, r => r.View?.ClaimId == claim.ClaimId && r.View.LastPosition == before.Position);

        await fixture.Server.StopAsync();
        // Changed while the watcher is disconnected: the re-sent current view must carry it.
        await fixture.Server.StartAsync();
        var during = await other.TakeStanceAsync(new TakeStanceRequest { ClaimId = claim.ClaimId, Stance = Stance.Refutes });
        var latest = await NextMatching(reader, seen, r => r.View?.ClaimId == claim.ClaimId && r.View.LastPosition >= during.Position);
        await cts.CancelAsync();

        Assert.Equal([Stance.Refutes], latest.View.Tallies.Select(t => t.Stance));
        var views = seen.Where(r => r.View is not null).Select(r => (r.View.ClaimId, r.View.LastPosition)).ToList();
        Assert.Equal(views.Count, views.Distinct().Count());
    }
}
