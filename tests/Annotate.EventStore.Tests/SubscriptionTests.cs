using System.Diagnostics.Metrics;
using Annotate.Testing;

namespace Annotate.EventStore.Tests;

public sealed class SubscriptionTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_subscription_catches_up_marks_it_then_delivers_live_events()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(5));
        using var cts = new CancellationTokenSource(Timeout);

        var seen = new List<string>();
        await foreach (var m in store.SubscribeAsync(2, cancellationToken: cts.Token))
        {
            seen.Add(
                m switch
                {
                    SubscriptionMessage.Event e => e.Recorded.Position.ToString(),
                    SubscriptionMessage.CaughtUp c => $"caught-up@{c.Position}",
                    _ => "?",
                });
            if (m is SubscriptionMessage.CaughtUp)
                await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(2));
            if (seen.Count == 6)
                break;
        }

        Assert.Equal(["3", "4", "5", "caught-up@5", "6", "7"], seen);
    }

    [Fact]
    public async Task Batches_this_process_commits_reach_its_subscribers_without_reading_them_back_from_the_table()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var reads = new CountedReads(store);
        store.CatchUpReads = reads; // every page the hub reads goes through it: catch-up and the reads after a wake-up
        using var cts = new CancellationTokenSource(Timeout);
        var tail = new Tail(store, cts.Token);
        // Each batch's NOTIFY reaches the hub's LISTEN connection about when the writer learns that it committed, often first.
        var warmUp = await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(1));
        await tail.WaitForAsync(warmUp.LastPosition, cts.Token);
        var before = reads.Count;

        long last = 0;
        for (var i = 0; i < 40; i++)
            last = (await store.AppendAsync($"s{i % 4}", ExpectedVersion.Any, TestStores.Events(1 + (i % 3)))).LastPosition;
        await tail.WaitForAsync(last, cts.Token);

        Assert.Equal(0, reads.Count - before);
        Assert.Equal(Enumerable.Range(1, (int)last).Select(p => (long)p), await tail.PositionsAsync());
        await cts.CancelAsync();
    }

    /// <summary>Pages read from the store itself, counted.</summary>
    private sealed class CountedReads(MartenEventStore store) : IReadSource
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task<T> ReadAsync<T>(long atLeast, Func<MartenEventStore, Task<T>> read, CancellationToken ct)
        {
            Interlocked.Increment(ref _count);
            return read(store);
        }
    }

    [Fact]
    public async Task Subscribers_catching_up_together_while_events_are_appended_each_get_every_event_once_in_order()
    {
        // Small pages read by many subscribers at once, which may share them (Live/SharedPages.cs), while appends go on.
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 3);
        await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(30));
        using var cts = new CancellationTokenSource(Timeout);

        async Task<List<long>> Follow()
        {
            var positions = new List<long>();
            await foreach (var m in store.SubscribeAsync(0, cancellationToken: cts.Token))
            {
                if (m is SubscriptionMessage.Event e) positions.Add(e.Recorded.Position);
                if (positions.Count == 40) break;
            }
            return positions;
        }

        var followers = Enumerable.Range(0, 40).Select(_ => Task.Run(Follow)).ToList();
        for (var i = 0; i < 10; i++) await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(1));
        var seen = await Task.WhenAll(followers);

        var expected = Enumerable.Range(1, 40).Select(p => (long)p).ToList();
        Assert.All(seen, positions => Assert.Equal(expected, positions));
    }

    [Fact]
    public async Task Subscribers_catching_up_together_share_their_pages_instead_of_each_reading_every_page()
    {
        // 40 subscribers from the start of a log of 10 pages, at once: on their own they would query 400 pages or more.
        // Sharing (Live/SharedPages.cs) lets those that ask for a page read within the last second take that read, so they
        // move on together. The store counts its catch-up queries (annotate.eventstore.catch_up.reads, per schema).
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 3);
        await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(30));
        using var cts = new CancellationTokenSource(Timeout);
        var reads = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == StoreTelemetry.Name && instrument.Name == "annotate.eventstore.catch_up.reads")
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == StoreTelemetry.SchemaTag && Equals(tag.Value, t.Schema)) Interlocked.Add(ref reads, (int)value);
        });
        listener.Start();

        async Task<List<long>> CatchUp()
        {
            var positions = new List<long>();
            await foreach (var m in store.SubscribeAsync(0, cancellationToken: cts.Token))
            {
                if (m is SubscriptionMessage.CaughtUp) return positions;
                if (m is SubscriptionMessage.Event e) positions.Add(e.Recorded.Position);
            }
            return positions;
        }

        const int subscribers = 40, pages = 10;
        var seen = await Task.WhenAll(Enumerable.Range(0, subscribers).Select(_ => Task.Run(CatchUp)));

        var expected = Enumerable.Range(1, 30).Select(p => (long)p).ToList();
        Assert.All(seen, positions => Assert.Equal(expected, positions));
        Assert.InRange(Volatile.Read(ref reads), pages, subscribers * pages / 4);
    }

    [Fact]
    public async Task A_subscription_in_batches_delivers_the_same_events_with_the_caught_up_mark_between()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 2);
        await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(5));
        using var cts = new CancellationTokenSource(Timeout);

        var positions = new List<long>();
        var through = new List<long>();
        long caughtUpAt = -1;
        await foreach (var b in store.SubscribeInBatchesAsync(1, cancellationToken: cts.Token))
        {
            positions.AddRange(b.Events.Select(e => e.Position));
            through.Add(b.Through);
            if (b.CaughtUp)
            {
                Assert.Empty(b.Events);
                caughtUpAt = b.Through;
                await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(3)); // live from here (in one or more batches)
            }
            if (positions.Count == 7) break;
        }

        Assert.Equal([2, 3, 4, 5, 6, 7, 8], positions);
        Assert.Equal(5, caughtUpAt);
        Assert.Equal(through.Order(), through); // never goes backwards
        Assert.Equal(8, through[^1]);
    }

    [Fact]
    public async Task A_filtered_subscription_sees_only_matching_events_and_resumes_after_a_position()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        for (var i = 0; i < 10; i++)
            await store.AppendAsync($"claim-{i % 2}", ExpectedVersion.Any, TestStores.Events(1, i % 3 == 0 ? "a.v1" : "b.v1"));
        using var cts = new CancellationTokenSource(Timeout);
        var filter = new EventFilter(Types: ["a.v1"], StreamPrefix: "claim-0");

        var first = await store
            .SubscribeAsync(0, filter, cts.Token)
            .OfType<SubscriptionMessage.Event>()
            .Take(2)
            .Select(e => e.Recorded.Position)
            .ToListAsync(cts.Token);
        var resumed = store
            .SubscribeAsync(first[^1], filter, cts.Token)
            .OfType<SubscriptionMessage.Event>()
            .Take(1)
            .Select(e => e.Recorded.Position)
            .FirstAsync(cts.Token);
        await store.AppendAsync("claim-1", ExpectedVersion.Any, TestStores.Events(1, "a.v1"));
        await store.AppendAsync("claim-0", ExpectedVersion.Any, TestStores.Events(1, "a.v1"));

        Assert.Equal([1, 7], first);
        Assert.Equal(12, await resumed);
    }

    [Fact]
    public async Task Events_appended_by_another_replica_wake_a_subscriber()
    {
        await using var t = await TestStores.CreateAsync(db);
        var subscriberSide = t.NewStore("sub-side");
        var writerSide = t.NewStore("writer-side");
        using var cts = new CancellationTokenSource(Timeout);
        var caughtUp = new TaskCompletionSource();
        var received = Task.Run(async () =>
        {
            var list = new List<long>();
            await foreach (var m in subscriberSide.SubscribeAsync(0, cancellationToken: cts.Token))
            {
                if (m is SubscriptionMessage.CaughtUp) caughtUp.TrySetResult();
                if (m is SubscriptionMessage.Event e) list.Add(e.Recorded.Position);
                if (list.Count == 3) return list;
            }
            return list;
        });
        await caughtUp.Task.WaitAsync(cts.Token);

        await writerSide.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(3));

        Assert.Equal([1, 2, 3], await received);
    }

    [Fact]
    public async Task A_slow_subscriber_never_blocks_the_writer_or_others_and_misses_nothing()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(subscriberBuffer: 4, pageSize: 50);
        using var cts = new CancellationTokenSource(Timeout);
        const int total = 600;

        // The slow subscriber takes one event and then does not read while everything else happens.
        await using var slow = store.SubscribeAsync(0, cancellationToken: cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await slow.MoveNextAsync());
        Assert.IsType<SubscriptionMessage.CaughtUp>(slow.Current);

        var fast = store
            .SubscribeAsync(0, cancellationToken: cts.Token)
            .OfType<SubscriptionMessage.Event>()
            .Take(total)
            .Select(e => e.Recorded.Position)
            .ToListAsync(cts.Token);
        var appends = Enumerable
            .Range(0, total / 3)
            .Select(i => store.AppendAsync($"s-{i % 7}", ExpectedVersion.Any, TestStores.Events(3)))
            .ToList();
        await Task.WhenAll(appends);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), await fast);

        var slowSeen = new List<long>();
        while (slowSeen.Count < total && await slow.MoveNextAsync())
            if (slow.Current is SubscriptionMessage.Event e) slowSeen.Add(e.Recorded.Position);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), slowSeen);
    }

    [Fact]
    public async Task Five_hundred_subscribers_share_one_listen_connection_per_store_instance()
    {
        await using var t = await TestStores.CreateAsync(db);
        var app = "listen-" + Guid.NewGuid().ToString("N")[..8];
        var instances = new[] { t.NewStore(app + "-a"), t.NewStore(app + "-b") };
        using var cts = new CancellationTokenSource(Timeout);
        var caughtUp = 0;
        var subscribers = Enumerable.Range(0, 500).Select(i => Task.Run(async () =>
        {
            await foreach (var m in instances[i % 2].SubscribeAsync(0, cancellationToken: cts.Token))
            {
                if (m is SubscriptionMessage.CaughtUp) Interlocked.Increment(ref caughtUp);
                if (m is SubscriptionMessage.Event e) return e.Recorded.Position;
            }
            return -1L;
        })).ToList();
        await TestStores.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref caughtUp) == 500), Timeout, "500 subscribers caught up");

        var listeners = await CountListenersAsync(t, app);
        await instances[0].AppendAsync("s", ExpectedVersion.Any, TestStores.Events(1));
        var positions = await Task.WhenAll(subscribers);

        Assert.Equal([(app + "-a", 1L), (app + "-b", 1L)], listeners);
        Assert.All(positions, p => Assert.Equal(1, p));
    }

    private static async Task<List<(string, long)>> CountListenersAsync(TestStores t, string app)
    {
        // The LISTEN connection is opened once the first subscriber registers; wait for both, then count.
        List<(string, long)> rows = [];
        await TestStores.WaitUntilAsync(async () =>
        {
            rows = [];
            await using var conn = await t.OpenAdminAsync();
            await using var cmd = new Npgsql.NpgsqlCommand(
                "SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1 " +
                    "AND query ILIKE 'LISTEN%' GROUP BY 1 ORDER BY 1", conn);
            cmd.Parameters.AddWithValue(app + "%");
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) rows.Add((r.GetString(0), r.GetInt64(1)));
            return rows.Count == 2;
        }, Timeout, "both LISTEN connections");
        return rows;
    }

    [Fact]
    public async Task Disposing_the_store_ends_its_live_subscriptions_with_an_error_instead_of_leaving_them_waiting()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        using var cts = new CancellationTokenSource(Timeout);
        var caughtUp = new TaskCompletionSource();
        var subscription = Task.Run(async () =>
        {
            await foreach (var m in store.SubscribeAsync(0, cancellationToken: cts.Token))
                if (m is SubscriptionMessage.CaughtUp) caughtUp.TrySetResult();
        });
        await caughtUp.Task.WaitAsync(cts.Token);

        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => subscription.WaitAsync(cts.Token));
    }
}
