using System.Collections.Concurrent;
using Annotate.Testing;
using Npgsql;

namespace Annotate.EventStore.Tests;

/// <summary>Global order under concurrent writers: what a tailing reader sees must be exactly the table, in order.</summary>
public sealed class OrderingTests(PostgresDatabase db, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Two_replicas_appending_concurrently_are_tailed_without_gaps_duplicates_or_reordering()
    {
        await using var t = await TestStores.CreateAsync(db);
        var a = t.NewStore("order-a");
        var b = t.NewStore("order-b");
        var tailer = t.NewStore("order-tail");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<long>();
        var tail = TailAsync(tailer, seen, cts.Token);

        var run = TimeSpan.FromSeconds(3);
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
        await TestStores.WaitUntilAsync(
            () => Task.FromResult(Volatile.Read(ref seen).Count >= head),
            TimeSpan.FromSeconds(30),
            "tailer reaching the head");
        await cts.CancelAsync();
        await tail;

        output.WriteLine($"events: {head}, commits: {a.Statistics.Commits + b.Statistics.Commits}");
        Assert.True(head > 100, $"only {head} events appended");
        Assert.Equal(Enumerable.Range(1, (int)head).Select(i => (long)i), seen.Take((int)head));
        Assert.Equal(head, await t.ScalarAsync<long>("SELECT count(*) FROM {s}.events"));
        Assert.True((await a.VerifyAsync()).IsIntact);
    }

    [Fact]
    public async Task A_replica_killed_mid_batch_leaves_no_half_batch_and_the_tail_stays_gap_free()
    {
        await using var t = await TestStores.CreateAsync(db);
        var app = "victim-" + Guid.NewGuid().ToString("N")[..8];
        var survivor = t.NewStore("survivor");
        var victim = t.NewStore(app);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new List<long>();
        var tail = TailAsync(survivor, seen, cts.Token);

        var succeeded = new ConcurrentBag<(string Stream, Guid[] Ids, AppendResult Result)>();
        var attempted = new ConcurrentBag<(string Stream, Guid[] Ids)>();
        var failures = 0;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(3);
        var writers = Enumerable.Range(0, 12).Select(w => Task.Run(async () =>
        {
            var store = w % 3 == 0 ? survivor : victim;
            var i = 0;
            while (DateTime.UtcNow < until)
            {
                var stream = $"w{w}-{i++ % 4}";
                var events = TestStores.Events(5);
                var ids = events.Select(e => e.EventId).ToArray();
                attempted.Add((stream, ids));
                try { succeeded.Add((stream, ids, await store.AppendAsync(stream, ExpectedVersion.Any, events))); }
                catch (NpgsqlException) { Interlocked.Increment(ref failures); }
            }
        })).ToList();

        // Kill the victim's backends over and over while they are inside append transactions.
        var kills = 0;
        await using (var admin = await t.OpenAdminAsync())
        {
            while (DateTime.UtcNow < until)
            {
                await using var cmd = new NpgsqlCommand(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle' AND backend_xid IS NOT NULL", admin);
                cmd.Parameters.AddWithValue(app);
                kills += (int)(long)(await cmd.ExecuteScalarAsync())!;
            }
        }
        await Task.WhenAll(writers);
        var head = await survivor.GetHeadPositionAsync();
        await TestStores.WaitUntilAsync(
            () => Task.FromResult(Volatile.Read(ref seen).Count >= head),
            TimeSpan.FromSeconds(30),
            "tailer reaching the head");
        await cts.CancelAsync();
        await tail;

        output.WriteLine($"kills inside transactions: {kills}, failed appends: {failures}, succeeded: {succeeded.Count}, events: {head}");
        Assert.True(kills > 0, "no backend was killed inside a transaction");
        // Every append is all-or-nothing: its 5 ids are either all stored, consecutive, or none is.
        var stored = new Dictionary<Guid, long>();
        await foreach (var e in survivor.ReadAllAsync()) stored[e.EventId] = e.Position;
        foreach (var (_, ids) in attempted)
        {
            var present = ids.Where(stored.ContainsKey).Select(id => stored[id]).ToList();
            Assert.True(present.Count is 0 or 5, $"half an append is visible: {present.Count} of 5");
            if (present.Count == 5) Assert.Equal(Enumerable.Range((int)present[0], 5).Select(p => (long)p), present);
        }
        foreach (var (_, ids, result) in succeeded) Assert.Equal(result.FirstPosition, stored[ids[0]]);
        Assert.Equal(Enumerable.Range(1, (int)head).Select(i => (long)i), seen.Take((int)head));
        Assert.True((await survivor.VerifyAsync()).IsIntact);
    }

    private static Task TailAsync(PostgresEventStore store, List<long> seen, CancellationToken ct) => Task.Run(async () =>
    {
        try
        {
            await foreach (var m in store.SubscribeAsync(0, cancellationToken: ct))
            {
                if (m is SubscriptionMessage.Event e)
                    lock (seen) seen.Add(e.Recorded.Position);
            }
        }
        catch (OperationCanceledException) { }
    });
}
