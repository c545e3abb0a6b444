using Annotate.Contracts.V1;

namespace Annotate.Server.Tests;

/// <summary>Commands decided inside the writer's batch: hot streams without conflicts, retried request ids under a race.</summary>
public sealed class CommandsTests(AnnotateServer server) : IClassFixture<AnnotateServer>
{
    private const string Text =
        "The council approved the budget on Tuesday. Critics said the figures were revised twice before the vote, " +
        "and the finance office has not published the revised tables.";

    private async Task<string> ClaimAsync(CallOptions opener)
    {
        var article = await server.ImportAsync(Text, "hot");
        var opened = await server.Channel.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = article,
            Selector = new Selector { Position = new TextPosition { Start = 44, End = 104 } },
        }, opener);
        return opened.ClaimId;
    }

    private static TakeStanceRequest StanceOn(string claimId, Stance stance, string? requestId = null) =>
        new() { RequestId = requestId ?? Guid.NewGuid().ToString(), ClaimId = claimId, Stance = stance, Rationale = "read the tables" };

    [Fact]
    public async Task Thirty_two_analysts_taking_stances_on_one_hot_claim_at_once_all_succeed_and_each_counts_once()
    {
        var analysts = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => server.NewAnalystAsync("hot", Role.Analyst)));
        var claimId = await ClaimAsync(analysts[0].Options);

        for (var round = 0; round < 2; round++)
        {
            // Everyone at once; in the second round everyone replaces their stance with the other one.
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var taken = analysts.Select((a, i) => Task.Run(async () =>
            {
                await go.Task;
                var stance = (i + round) % 2 == 0 ? Stance.Supports : Stance.Refutes;
                return await server.Channel.Claims().TakeStanceAsync(StanceOn(claimId, stance), a.Options);
            })).ToArray();
            go.SetResult();
            var results = await Task.WhenAll(taken); // any ABORTED (or other refusal) fails here

            Assert.Equal(32, results.Select(r => r.Position).Distinct().Count());
            Assert.All(results, r => Assert.False(r.Deduplicated));
            var view = await server.Channel.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claimId }, server.Admin);
            Assert.Equal(32, view.Stances.Count);
            Assert.Equal(
                [(Stance.Supports, 16u), (Stance.Refutes, 16u)],
                view.Tallies.Select(t => (t.Stance, t.Count)).OrderBy(t => t.Stance));
            Assert.Equal(results.Max(r => r.Position), view.LastPosition);
            // Each analyst's current stance is the one they took this round.
            foreach (var (a, i) in analysts.Select((a, i) => (a, i)))
            {
                Assert.Equal((i + round) % 2 == 0 ? Stance.Supports : Stance.Refutes,
                    Assert.Single(view.Stances, s => s.Analyst == a.Id).Stance);
            }
        }
    }

    [Fact]
    public async Task A_request_id_sent_many_times_at_once_appends_once_and_every_answer_is_the_original()
    {
        var (_, analyst) = await server.NewAnalystAsync("retrier", Role.Analyst);
        var (_, other) = await server.NewAnalystAsync("bystander", Role.Analyst);
        var claimId = await ClaimAsync(other);
        var requestId = Guid.NewGuid().ToString();

        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var racing = Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
        {
            await go.Task;
            // Others write the same claim meanwhile, so the retries meet in batches that also hold other appends.
            if (i % 3 == 0) await server.Channel.Claims().TakeStanceAsync(StanceOn(claimId, Stance.NeedsContext), other);
            return await server.Channel.Claims().TakeStanceAsync(StanceOn(claimId, Stance.Refutes, requestId), analyst);
        })).ToArray();
        go.SetResult();
        var answers = await Task.WhenAll(racing);
        var later = await server.Channel.Claims().TakeStanceAsync(StanceOn(claimId, Stance.Refutes, requestId), analyst);

        Assert.Single(answers.Append(later).Select(a => (a.Position, a.ReceiptHash, a.StreamVersion)).Distinct());
        Assert.Equal(answers.Length, answers.Count(a => a.Deduplicated) + 1);
        Assert.True(later.Deduplicated);
        Assert.Single(await server.EventsOfRequestAsync(requestId));
    }
}
