using System.Collections.Concurrent;
using Annotate.Testing;
using Npgsql;

namespace Annotate.EventStore.Tests;

/// <summary>
/// Global order under concurrent writers (docs: the global-order rule, <see cref="Order.GlobalOrder"/>): what a tailing
/// reader sees on any replica must be exactly the committed events, each once, in position order, none skipped.
/// </summary>
public sealed class OrderingTests(PostgresDatabase db, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_replicas_appending_concurrently_are_tailed_on_both_without_gaps_duplicates_or_reordering()
    {
        await using var t = await TestStores.CreateAsync(db);
        var a = t.NewStore("order-a");
        var b = t.NewStore("order-b");
        using var cts = new CancellationTokenSource(Timeout);
        var tails = new[] { new Tail(a, cts.Token), new Tail(b, cts.Token), new Tail(a, cts.Token), new Tail(b, cts.Token) };

        var run = TimeSpan.FromSeconds(4);
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? a : b;
            var count = 0;
            var until = DateTime.UtcNow + run;
            while (DateTime.UtcNow < until)
            {
                await store.AppendAsync($"claim-{w}-{count % 5}", ExpectedVersion.Any, TestStores.Events(1 + count % 3));
                count++;
            }
            return count;
        })).ToList();
        await Task.WhenAll(writers);
        var head = await a.GetHeadPositionAsync();
        foreach (var tail in tails) await tail.WaitForAsync(head, cts.Token);
        await cts.CancelAsync();

        output.WriteLine($"events: {head}, commits: {a.Statistics.Commits + b.Statistics.Commits}");
        Assert.True(head > 100, $"only {head} events appended");
        Assert.Equal(head, await t.ScalarAsync<long>("SELECT count(*) FROM {s}.mt_events"));
        foreach (var tail in tails) Assert.Equal(Enumerable.Range(1, (int)head).Select(i => (long)i), await tail.PositionsAsync());
        Assert.True((await a.VerifyAsync()).IsIntact);
    }

    [Fact]
    public async Task A_replica_whose_writer_is_killed_mid_batch_leaves_no_half_batch_and_the_tails_on_both_stay_gap_free()
    {
        await using var t = await TestStores.CreateAsync(db);
        var app = "victim-" + Guid.NewGuid().ToString("N")[..8];
        var survivor = t.NewStore("survivor");
        var victim = t.NewStore(app);
        using var cts = new CancellationTokenSource(Timeout);
        var tails = new[] { new Tail(survivor, cts.Token), new Tail(victim, cts.Token) };

        var succeeded = new ConcurrentBag<(Guid[] Ids, AppendResult Result)>();
        var attempted = new ConcurrentBag<Guid[]>();
        var failures = new ConcurrentBag<string>();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        var writers = Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
        {
            var store = w % 3 == 0 ? survivor : victim;
            var i = 0;
            while (DateTime.UtcNow < until)
            {
                var stream = $"w{w}-{i % 4}";
                var events = TestStores.Events(5);
                var ids = events.Select(e => e.EventId).ToArray();
                attempted.Add(ids);
                // Half the writers give each request an idempotency key, as the server's commands do; half give none.
                var key = w % 2 == 0 ? $"w{w}-req-{i}" : null;
                try { succeeded.Add((ids, await store.AppendAsync(stream, ExpectedVersion.Any, events, key))); }
                catch (Exception ex) when (ex is not (WrongExpectedVersionException or IdempotencyKeyConflictException))
                {
                    failures.Add(ex.GetType().Name);
                }
                i++;
            }
        })).ToList();

        // Kill the victim's backends over and over while they are inside append transactions.
        var kills = 0;
        await using (var admin = await t.OpenAdminAsync())
        {
            while (DateTime.UtcNow < until)
            {
                await using var cmd = new NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle' AND " +
                        "backend_xid IS NOT NULL", admin);
                cmd.Parameters.AddWithValue(app);
                kills += (int)(long)(await cmd.ExecuteScalarAsync())!;
            }
        }
        await Task.WhenAll(writers);
        var head = await survivor.GetHeadPositionAsync();
        foreach (var tail in tails) await tail.WaitForAsync(head, cts.Token);
        await cts.CancelAsync();

        output.WriteLine($"kills inside transactions: {kills}, failed appends: {failures.Count} " +
            $"({string.Join(", ", failures.Distinct())}), " +
            $"succeeded: {succeeded.Count}, events: {head}");
        Assert.True(kills > 0, "no backend was killed inside a transaction");
        // Every append is all-or-nothing: its 5 ids are either all stored, consecutive, or none is; and none twice.
        var stored = new Dictionary<Guid, long>();
        await foreach (var e in survivor.ReadAllAsync())
        {
            Assert.True(stored.TryAdd(e.EventId, e.Position), $"event {e.EventId} stored twice");
        }
        foreach (var ids in attempted)
        {
            var present = ids.Where(stored.ContainsKey).Select(id => stored[id]).ToList();
            Assert.True(present.Count is 0 or 5, $"half an append is visible: {present.Count} of 5");
            if (present.Count == 5) Assert.Equal(Enumerable.Range((int)present[0], 5).Select(p => (long)p), present);
        }
        foreach (var (ids, result) in succeeded) Assert.Equal(result.FirstPosition, stored[ids[0]]);
        var positions = stored.Values.Order().ToList();
        foreach (var tail in tails) Assert.Equal(positions, await tail.PositionsAsync());
        Assert.Equal(head, positions[^1]);
        Assert.True((await survivor.VerifyAsync()).IsIntact);
    }

    [Fact]
    public async Task A_batch_held_open_past_the_stale_gap_threshold_makes_no_reader_skip_anything_and_its_events_arrive_when_it_commits()
    {
        await using var t = await TestStores.CreateAsync(db);
        var a = t.NewStore("gap-a");
        var b = t.NewStore("gap-b");
        await a.AppendAsync("seed", ExpectedVersion.NoStream, TestStores.Events(2));
        using var cts = new CancellationTokenSource(Timeout);
        var tails = new[] { new Tail(a, cts.Token), new Tail(b, cts.Token) };
        foreach (var tail in tails) await tail.WaitForAsync(2, cts.Token);

        Task<AppendResult[]> appends;
        await using (var admin = await t.OpenAdminAsync())
        {
            // Lock the head row: the next batch takes the global-order lock, has Marten draw its positions and insert its
            // events, then waits on the head row inside its open transaction. Its positions are a hole in the sequence.
            await using var hold = await admin.BeginTransactionAsync();
            await using (var lockHead = new NpgsqlCommand(t.InSchema("SELECT 1 FROM {s}.chain_head WHERE id = 1 FOR UPDATE"), admin, hold))
                await lockHead.ExecuteNonQueryAsync();
            appends = Task.WhenAll(Enumerable.Range(0, 40)
                .Select(i => (i % 2 == 0 ? a : b).AppendAsync($"claim-{i % 7}", ExpectedVersion.Any, TestStores.Events(1 + i % 3))));
            await TestStores.WaitUntilAsync(
                async () => await t.ScalarAsync<long>("SELECT last_value FROM {s}.mt_events_sequence") > 2,
                Timeout, "a batch drawing its positions");

            // Longer than Marten's stale-gap threshold (3 s): the scenario is a duration, not a wait for a condition.
            await Task.Delay(TimeSpan.FromSeconds(4), cts.Token);

            Assert.False(appends.IsCompleted);
            Assert.Equal(2, await a.GetHeadPositionAsync());
            Assert.Equal([1L, 2L], await b.ReadAllAsync().Select(e => e.Position).ToListAsync());
            foreach (var tail in tails) Assert.Equal([1L, 2L], await tail.PositionsAsync());
            await hold.CommitAsync();
        }
        var results = await appends.WaitAsync(cts.Token);
        var head = results.Max(r => r.LastPosition);
        foreach (var tail in tails) await tail.WaitForAsync(head, cts.Token);
        await cts.CancelAsync();

        var expected = Enumerable.Range(1, (int)head).Select(i => (long)i).ToList();
        Assert.Equal(2 + results.Sum(r => r.LastPosition - r.FirstPosition + 1), head);
        foreach (var tail in tails) Assert.Equal(expected, await tail.PositionsAsync());
        Assert.True((await a.VerifyAsync()).IsIntact);
    }

    [Fact]
    public async Task Subscribers_joining_while_rolled_back_batches_leave_holes_in_the_positions_get_every_event_once_in_order()
    {
        await using var t = await TestStores.CreateAsync(db);
        var a = t.NewStore("holes-a", pageSize: 7, loggerFactory: new TestLoggerFactory(output));
        var b = t.NewStore("holes-b", pageSize: 7, loggerFactory: new TestLoggerFactory(output));
        using var cts = new CancellationTokenSource(Timeout);
        var tails = new List<Tail>();
        var refused = 0;

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? a : b;
            for (var i = 0; DateTime.UtcNow < until; i++)
            {
                // Every fifth append carries an event jsonb refuses: its batch is rolled back and its positions are never used.
                EventData[] events =
                    i % 5 == 4 ? [TestStores.Event(), TestStores.Event(new NoteWritten("\0"))] : TestStores.Events(1 + i % 3);
                try { await store.AppendAsync($"w{w}-{i % 3}", ExpectedVersion.Any, events); }
                catch (Exception) when (i % 5 == 4) { Interlocked.Increment(ref refused); }
            }
        })).ToList();
        // Subscribers join from position 0 all along, so their catch-up meets runs the hubs publish meanwhile.
        while (DateTime.UtcNow < until)
        {
            tails.Add(new Tail(tails.Count % 2 == 0 ? a : b, cts.Token));
            await Task.Delay(100, cts.Token);
        }
        await Task.WhenAll(writers);
        var head = await a.GetHeadPositionAsync();
        foreach (var tail in tails) await tail.WaitForAsync(head, cts.Token);
        await cts.CancelAsync();

        var stored = await a.ReadAllAsync().Select(e => e.Position).ToListAsync();
        var holes = head - stored.Count;
        output.WriteLine($"events: {stored.Count}, head: {head}, holes: {holes}, refused appends: {refused}, subscribers: {tails.Count}");
        Assert.True(holes > 0, "no batch was rolled back");
        foreach (var tail in tails) Assert.Equal(stored, await tail.PositionsAsync());
    }
}
