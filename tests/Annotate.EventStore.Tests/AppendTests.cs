using Annotate.Testing;

namespace Annotate.EventStore.Tests;

public sealed class AppendTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Append_assigns_stream_versions_from_one_and_consecutive_global_positions()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();

        var first = await store.AppendAsync("claim-1", ExpectedVersion.NoStream, TestStores.Events(2));
        var second = await store.AppendAsync("claim-2", ExpectedVersion.Any, TestStores.Events(1));
        var third = await store.AppendAsync("claim-1", ExpectedVersion.Exact(2), TestStores.Events(3));

        Assert.Equal((2L, 1L, 2L, false), (first.NextExpectedVersion, first.FirstPosition, first.LastPosition, first.Deduplicated));
        Assert.Equal((1L, 3L, 3L), (second.NextExpectedVersion, second.FirstPosition, second.LastPosition));
        Assert.Equal((5L, 4L, 6L), (third.NextExpectedVersion, third.FirstPosition, third.LastPosition));
        Assert.Equal(5, await store.GetStreamVersionAsync("claim-1"));
        Assert.Equal(64, third.ChainHash.Length);
    }

    [Fact]
    public async Task Append_with_stale_expected_version_is_refused_with_the_current_version()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync("claim-1", ExpectedVersion.NoStream, TestStores.Events(2));

        var stale = await Assert.ThrowsAsync<WrongExpectedVersionException>(() =>
            store.AppendAsync("claim-1", ExpectedVersion.Exact(1), TestStores.Events(1)));
        var exists = await Assert.ThrowsAsync<WrongExpectedVersionException>(() =>
            store.AppendAsync("claim-1", ExpectedVersion.NoStream, TestStores.Events(1)));
        var missing = await Assert.ThrowsAsync<WrongExpectedVersionException>(() =>
            store.AppendAsync("claim-9", ExpectedVersion.Exact(3), TestStores.Events(1)));

        Assert.Equal(("claim-1", 2L, 1L), (stale.StreamId, stale.ActualVersion, stale.Expected.Value));
        Assert.Equal(2, exists.ActualVersion);
        Assert.Equal(0, missing.ActualVersion);
        Assert.Equal(2, await store.GetHeadPositionAsync());
    }

    [Fact]
    public async Task Reappending_the_same_event_ids_returns_the_original_result_and_writes_nothing()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var events = TestStores.Events(3);
        var original = await store.AppendAsync("claim-1", ExpectedVersion.NoStream, events);
        await store.AppendAsync("claim-1", ExpectedVersion.Any, TestStores.Events(1));

        // The retry carries the stale expected version of the first attempt: still the original result, not a conflict.
        var retry = await store.AppendAsync("claim-1", ExpectedVersion.NoStream, events);

        Assert.True(retry.Deduplicated);
        Assert.Equal(original with { Deduplicated = true }, retry);
        Assert.Equal(4, await store.GetHeadPositionAsync());
    }

    [Fact]
    public async Task A_retry_through_another_replica_after_a_lost_response_returns_the_original_positions_and_receipt()
    {
        await using var t = await TestStores.CreateAsync(db);
        var replicaA = t.NewStore("replica-a");
        var replicaB = t.NewStore("replica-b");
        var events = TestStores.Events(2);
        // The response of this append is "lost": the caller only knows it sent the request.
        var lost = await replicaA.AppendAsync("claim-1", ExpectedVersion.NoStream, events);

        var retried = await replicaB.AppendAsync("claim-1", ExpectedVersion.NoStream, events);

        Assert.Equal((lost.FirstPosition, lost.LastPosition, lost.ChainHash, lost.NextExpectedVersion),
            (retried.FirstPosition, retried.LastPosition, retried.ChainHash, retried.NextExpectedVersion));
        Assert.Equal(2, await t.ScalarAsync<long>("SELECT count(*) FROM {s}.events"));
    }

    [Fact]
    public async Task Reusing_some_event_ids_in_a_different_append_is_refused()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var events = TestStores.Events(2);
        await store.AppendAsync("claim-1", ExpectedVersion.Any, events);

        await Assert.ThrowsAsync<EventIdConflictException>(() =>
            store.AppendAsync("claim-1", ExpectedVersion.Any, [events[0], TestStores.Event()]));
        await Assert.ThrowsAsync<EventIdConflictException>(() => store.AppendAsync("claim-2", ExpectedVersion.Any, events));
        Assert.Equal(2, await store.GetHeadPositionAsync());
    }

    [Fact]
    public async Task Two_replicas_racing_on_one_stream_with_the_same_expected_version_let_exactly_one_win()
    {
        await using var t = await TestStores.CreateAsync(db);
        var a = t.NewStore("race-a");
        var b = t.NewStore("race-b");
        for (var round = 0; round < 20; round++)
        {
            var stream = $"claim-{round}";
            await a.AppendAsync(stream, ExpectedVersion.NoStream, TestStores.Events(1));
            var attempts = new[] { a, b, a, b }
                .Select(s => Task.Run(() => s.AppendAsync(stream, ExpectedVersion.Exact(1), TestStores.Events(2))))
                .ToArray();
            var outcomes = await Task.WhenAll(
                attempts.Select(async x =>
                {
                    try
                    {
                        await x;
                        return "won";
                    }
                    catch (WrongExpectedVersionException)
                    {
                        return "lost";
                    }
                }));

            Assert.Equal(1, outcomes.Count(o => o == "won"));
            Assert.Equal(3, await a.GetStreamVersionAsync(stream));
        }
    }

    [Fact]
    public async Task Concurrent_appends_share_commits_and_a_conflicting_one_fails_alone()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync("contested", ExpectedVersion.NoStream, TestStores.Events(1));
        var commitsBefore = store.Statistics.Commits;

        var good = Enumerable
            .Range(0, 200)
            .Select(i => store.AppendAsync($"s-{i}", ExpectedVersion.NoStream, TestStores.Events(1)))
            .ToList();
        var bad = store.AppendAsync("contested", ExpectedVersion.NoStream, TestStores.Events(1));
        var results = await Task.WhenAll(good);

        await Assert.ThrowsAsync<WrongExpectedVersionException>(() => bad);
        Assert.Equal(Enumerable.Range(2, 200).Select(i => (long)i), results.Select(r => r.FirstPosition).Order());
        Assert.True(store.Statistics.Commits - commitsBefore < 200, $"{store.Statistics.Commits - commitsBefore} commits for 200 appends");
    }

    [Fact]
    public async Task Recorded_at_comes_from_the_database_clock_and_metadata_round_trips()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var before = await t.ScalarAsync<DateTime>("SELECT clock_timestamp()");
        var metadata = new EventMetadata("ana", "corr-1", "cause-1", "req-1", "article-7");
        var r = await store.AppendAsync(
            "claim-1",
            ExpectedVersion.Any,
            [TestStores.Event("claim-opened.v1", "{\"z\":1,  \"a\":[2]}", metadata)]);
        var after = await t.ScalarAsync<DateTime>("SELECT clock_timestamp()");

        var e = Assert.Single(await store.ReadStreamAsync("claim-1").ToListAsync());
        Assert.InRange(e.RecordedAt, before, after);
        Assert.Equal(DateTimeKind.Utc, e.RecordedAt.Kind);
        Assert.Equal(metadata, e.Metadata);
        Assert.Equal("{\"z\":1,  \"a\":[2]}", e.Data); // exact text kept, key order and spacing included
        Assert.Equal(r.ChainHash, e.HashHex);
    }

    [Fact]
    public async Task Malformed_json_is_refused_before_it_reaches_the_database()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await Assert.ThrowsAsync<ArgumentException>(() =>
            store.AppendAsync("s", ExpectedVersion.Any, [TestStores.Event(json: "{not json")]));
        Assert.Equal(0, await store.GetHeadPositionAsync());
    }
}
