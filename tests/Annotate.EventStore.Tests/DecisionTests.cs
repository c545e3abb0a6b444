using Annotate.Testing;

namespace Annotate.EventStore.Tests;

/// <summary>Decisions taken inside the writer's batch (<see cref="MartenEventStore.DecideAsync{TState}"/>).</summary>
public sealed class DecisionTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    /// <summary>A counter stream: the state is the last tally; each decision appends the next one, or refuses past a limit.</summary>
    private static Decision<int> Increment(string stream, int limit = int.MaxValue, string? key = null, StreamGuard? guard = null,
        Action? decided = null) =>
        new(stream, "tally", 0, (n, e) => e is Tallied t ? t.V : n, n =>
        {
            decided?.Invoke();
            if (n >= limit) throw new InvalidOperationException($"already at {n}");
            return [new EventData(Guid.NewGuid(), new Tallied(n + 1))];
        })
        {
            IdempotencyKey = key,
            Guard = guard,
        };

    private static async Task<List<int>> TalliesAsync(MartenEventStore store, string stream) =>
        await store.ReadStreamAsync(stream).Select(e => ((Tallied)e.Data).V).ToListAsync();

    [Fact]
    public async Task Concurrent_decisions_on_one_stream_all_succeed_each_on_the_state_the_one_before_left()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var all = Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            return await store.DecideAsync(Increment("counter"));
        })).ToArray();
        go.SetResult();
        var results = await Task.WhenAll(all);

        Assert.Equal(Enumerable.Range(1, 64).Select(v => (long)v), results.Select(r => r.NextExpectedVersion).Order());
        Assert.Equal(Enumerable.Range(1, 64), await TalliesAsync(store, "counter"));
        Assert.True(store.Statistics.Commits < 64, $"{store.Statistics.Commits} commits: the decisions were not batched");
    }

    [Fact]
    public async Task A_refusal_fails_only_its_own_decision_and_the_others_of_the_batch_are_appended()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var all = Enumerable.Range(0, 10).Select(_ => store.DecideAsync(Increment("limited", limit: 4))).ToArray();
        var outcomes = await Task.WhenAll(all.Select(async d =>
        {
            try { return (await d).NextExpectedVersion; }
            catch (InvalidOperationException) { return -1; }
        }));

        Assert.Equal([1, 2, 3, 4], outcomes.Where(o => o > 0).Order());
        Assert.Equal(6, outcomes.Count(o => o == -1));
        Assert.Equal([1, 2, 3, 4], await TalliesAsync(store, "limited"));
    }

    [Fact]
    public async Task A_retried_key_answers_the_original_append_without_deciding_again_even_in_a_race()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var calls = 0;
        var racing = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            store.DecideAsync(Increment("keyed", key: "req-1", decided: () => Interlocked.Increment(ref calls)))));
        var later = await store.DecideAsync(Increment("keyed", key: "req-1", decided: () => Interlocked.Increment(ref calls)));

        Assert.Equal([1], await TalliesAsync(store, "keyed"));
        Assert.Single(racing.Select(r => (r.LastPosition, r.ChainHash)).Append((later.LastPosition, later.ChainHash)).Distinct());
        Assert.Equal(7, racing.Count(r => r.Deduplicated));
        Assert.True(later.Deduplicated);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_kept_state_catches_up_with_what_another_replica_appended()
    {
        await using var t = await TestStores.CreateAsync(db);
        var (a, b) = (t.NewStore("a"), t.NewStore("b"));
        await a.DecideAsync(Increment("shared"));
        await b.DecideAsync(Increment("shared"));
        await b.AppendAsync("shared", ExpectedVersion.Any, [new EventData(Guid.NewGuid(), new Tallied(10))]);
        var next = await a.DecideAsync(Increment("shared"));

        Assert.Equal(4, next.NextExpectedVersion);
        Assert.Equal([1, 2, 10, 11], await TalliesAsync(a, "shared"));
    }

    [Fact]
    public async Task A_decision_that_changes_nothing_answers_the_stream_s_last_event_with_its_receipt()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var nothing = new Decision<int>("quiet", "tally", 0, (n, e) => e is Tallied v ? v.V : n, _ => []);
        var empty = await store.DecideAsync(nothing);
        var appended = await store.DecideAsync(Increment("quiet"));
        var same = await store.DecideAsync(nothing);

        Assert.Equal((0L, 0L, true), (empty.NextExpectedVersion, empty.LastPosition, empty.Deduplicated));
        Assert.Equal((appended.NextExpectedVersion, appended.LastPosition, appended.ChainHash, true),
            (same.NextExpectedVersion, same.LastPosition, same.ChainHash, same.Deduplicated));
        Assert.Equal(1, await store.GetHeadPositionAsync());
    }

    [Fact]
    public async Task A_precondition_on_a_text_revised_since_it_was_read_refuses_the_decision_and_appends_nothing()
    {
        await using var t = await TestStores.CreateAsync(db);
        var (a, b) = (t.NewStore("a"), t.NewStore("b"));
        await a.AppendAsync("text", ExpectedVersion.NoStream, [new EventData(Guid.NewGuid(), new ThingHappened(1))]);
        var resolvedOn = new StreamGuard("text", 1); // what a selector was resolved against
        var held = await a.DecideAsync(Increment("span") with { Preconditions = [resolvedOn] });
        await b.AppendAsync("text", ExpectedVersion.Any, [new EventData(Guid.NewGuid(), new ThingHappened(2))]); // a revision

        var refused = await Assert.ThrowsAsync<StreamGuardException>(() =>
            a.DecideAsync(Increment("span") with { Preconditions = [resolvedOn] }));

        Assert.Equal((1L, resolvedOn, 2L), (held.NextExpectedVersion, refused.Guard, refused.ActualVersion));
        Assert.Equal([1], await TalliesAsync(a, "span"));
    }

    [Fact]
    public async Task A_guard_on_a_stream_that_moved_refuses_the_decision_and_appends_nothing()
    {
        await using var t = await TestStores.CreateAsync(db);
        var (a, b) = (t.NewStore("a"), t.NewStore("b"));
        await a.AppendAsync("credential", ExpectedVersion.NoStream, [new EventData(Guid.NewGuid(), new ThingHappened(1))]);
        var held = await a.DecideAsync(Increment("guarded", guard: new StreamGuard("credential", 1)));
        await b.AppendAsync("credential", ExpectedVersion.Any, [new EventData(Guid.NewGuid(), new Closed(1))]);

        var refused = await Assert.ThrowsAsync<StreamGuardException>(() =>
            a.DecideAsync(Increment("guarded", guard: new StreamGuard("credential", 1))));

        Assert.Equal(1, held.NextExpectedVersion);
        Assert.Equal(2, refused.ActualVersion);
        Assert.Equal([1], await TalliesAsync(a, "guarded"));
    }

    [Fact]
    public async Task Decisions_on_a_stream_also_fold_plain_appends_of_the_same_batch()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var all = new List<Task<AppendResult>>();
        for (var i = 0; i < 20; i++)
        {
            all.Add(i % 4 == 0
                ? store.AppendAsync("mixed", ExpectedVersion.Any, [new EventData(Guid.NewGuid(), new Tallied(100 * (i + 1)))])
                : store.DecideAsync(Increment("mixed")));
        }
        await Task.WhenAll(all);

        var tallies = await TalliesAsync(store, "mixed");
        Assert.Equal(20, tallies.Count);
        for (var i = 1; i < tallies.Count; i++)
            Assert.True(tallies[i] == tallies[i - 1] + 1 || tallies[i] % 100 == 0, string.Join(",", tallies));
    }
}
