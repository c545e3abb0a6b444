using Annotate.Testing;

namespace Annotate.EventStore.Tests;

public sealed class ReadTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task A_stream_reads_forwards_and_backwards_from_a_version()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 3); // small pages so reads cross page boundaries
        await store.AppendAsync("claim-1", ExpectedVersion.Any, TestStores.Events(4));
        await store.AppendAsync("claim-2", ExpectedVersion.Any, TestStores.Events(2));
        await store.AppendAsync("claim-1", ExpectedVersion.Any, TestStores.Events(3));

        var forwards = await store.ReadStreamAsync("claim-1", fromVersion: 3).Select(e => e.StreamVersion).ToListAsync();
        var backwards = await store
            .ReadStreamAsync("claim-1", long.MaxValue, ReadDirection.Backwards, maxCount: 5)
            .Select(e => e.StreamVersion)
            .ToListAsync();

        Assert.Equal([3, 4, 5, 6, 7], forwards);
        Assert.Equal([7, 6, 5, 4, 3], backwards);
    }

    [Fact]
    public async Task Read_all_filters_by_type_stream_prefix_and_tag()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 2);
        await store.AppendAsync(
            "claim-1",
            ExpectedVersion.Any,
            [TestStores.Event(new ClaimOpened(1), new EventMetadata(Tag: "a1"))]);
        await store.AppendAsync(
            "highlight-1",
            ExpectedVersion.Any,
            [TestStores.Event(new HighlightMade(1), new EventMetadata(Tag: "a2"))]);
        await store.AppendAsync(
            "claim-2",
            ExpectedVersion.Any,
            [TestStores.Event(new StanceTaken(1), new EventMetadata(Tag: "a2"))]);
        await store.AppendAsync(
            "claim-1",
            ExpectedVersion.Any,
            [TestStores.Event(new StanceTaken(2), new EventMetadata(Tag: "a1"))]);

        async Task<List<long>> Positions(EventFilter f, long from = 0) =>
            await store.ReadAllAsync(from, f).Select(e => e.Position).ToListAsync();

        Assert.Equal([1, 2, 3, 4], await Positions(EventFilter.All));
        Assert.Equal([3, 4], await Positions(new EventFilter(Types: ["stance-taken.v1"])));
        Assert.Equal([1, 3, 4], await Positions(new EventFilter(StreamPrefix: "claim-")));
        Assert.Equal([2, 3], await Positions(new EventFilter(Tag: "a2")));
        Assert.Equal([4], await Positions(new EventFilter(Types: ["stance-taken.v1"], Tag: "a1")));
        Assert.Equal([3, 4], await Positions(EventFilter.All, from: 2));
    }

    [Fact]
    public async Task Read_all_stops_at_a_position_or_a_recorded_time()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 2);
        await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(3));
        var cut = await t.ScalarAsync<DateTime>("SELECT max(timestamp) FROM {s}.mt_events");
        await TestStores.WaitUntilAsync(
            async () => await t.ScalarAsync<DateTime>("SELECT clock_timestamp()") > cut,
            TimeSpan.FromSeconds(5),
            "clock to move");
        await store.AppendAsync("s", ExpectedVersion.Any, TestStores.Events(4));

        Assert.Equal([1, 2, 3, 4, 5], await store.ReadAllAsync(toPositionInclusive: 5).Select(e => e.Position).ToListAsync());
        Assert.Equal([1, 2, 3], await store.ReadAllAsync(toRecordedAt: cut).Select(e => e.Position).ToListAsync());
        Assert.Equal([2, 3], await store.ReadAllAsync(1, maxCount: 2).Select(e => e.Position).ToListAsync());
        Assert.Equal(3, await store.GetPositionAtAsync(cut));
        Assert.Equal(0, await store.GetPositionAtAsync(cut.AddYears(-1)));
        Assert.Equal(7, await store.GetPositionAtAsync(DateTime.UtcNow.AddYears(1)));
    }

    [Fact]
    public async Task Sparse_filtered_reads_and_subscriptions_cross_empty_position_windows_without_missing_matches()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 3); // filtered windows of 12 positions: most hold no match
        for (var i = 1; i <= 60; i++)
            await store.AppendAsync($"s-{i % 4}", ExpectedVersion.Any, TestStores.Events(1, i % 25 == 0 ? "rare.v1" : "common.v1"));
        var rare = new EventFilter(Types: ["rare.v1"]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var read = await store.ReadAllAsync(0, rare).Select(e => e.Position).ToListAsync();
        var subscribed = new List<long>();
        await foreach (var m in store.SubscribeAsync(0, rare, cts.Token))
        {
            if (m is SubscriptionMessage.Event e) subscribed.Add(e.Recorded.Position);
            if (m is SubscriptionMessage.CaughtUp c) { Assert.Equal(60, c.Position); break; }
        }

        Assert.Equal([25, 50], read);
        Assert.Equal([25, 50], subscribed);
    }
}
