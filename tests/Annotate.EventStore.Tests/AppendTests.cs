using Annotate.EventStore.Order;
using Annotate.Testing;
using Npgsql;

namespace Annotate.EventStore.Tests;

public sealed class AppendTests(PostgresDatabase db, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PostgresDatabase>
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
    public async Task Reappending_with_the_same_idempotency_key_returns_the_original_result_and_writes_nothing()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var events = TestStores.Events(3);
        var original = await store.AppendAsync("claim-1", ExpectedVersion.NoStream, events, "req-1");
        await store.AppendAsync("claim-1", ExpectedVersion.Any, TestStores.Events(1));

        // The retry carries the stale expected version of the first attempt: still the original result, not a conflict.
        var retry = await store.AppendAsync("claim-1", ExpectedVersion.NoStream, events, "req-1");

        Assert.True(retry.Deduplicated);
        Assert.Equal(original with { Deduplicated = true }, retry);
        Assert.Equal(original with { Deduplicated = true }, await store.FindAppendAsync("req-1"));
        Assert.Null(await store.FindAppendAsync("req-never-used"));
        Assert.Equal(4, await store.GetHeadPositionAsync());
        Assert.Equal(4L, await t.ScalarAsync<long>("SELECT count(*) FROM {s}.mt_events"));
    }

    [Fact]
    public async Task A_retry_through_another_replica_after_a_lost_response_returns_the_original_positions_and_receipt()
    {
        await using var t = await TestStores.CreateAsync(db);
        var replicaA = t.NewStore("replica-a");
        var replicaB = t.NewStore("replica-b");
        var events = TestStores.Events(2);
        // The response of this append is "lost": the caller only knows it sent the request.
        var lost = await replicaA.AppendAsync("claim-1", ExpectedVersion.NoStream, events, "req-lost");

        var retried = await replicaB.AppendAsync("claim-1", ExpectedVersion.NoStream, events, "req-lost");

        Assert.True(retried.Deduplicated);
        Assert.Equal((lost.FirstPosition, lost.LastPosition, lost.ChainHash, lost.NextExpectedVersion, lost.RecordedAt),
            (retried.FirstPosition, retried.LastPosition, retried.ChainHash, retried.NextExpectedVersion, retried.RecordedAt));
        Assert.Equal(2L, await t.ScalarAsync<long>("SELECT count(*) FROM {s}.mt_events"));
    }

    [Fact]
    public async Task Reusing_an_idempotency_key_for_another_stream_is_refused_and_writes_nothing()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync("claim-1", ExpectedVersion.Any, TestStores.Events(2), "req-1");

        var conflict = await Assert.ThrowsAsync<IdempotencyKeyConflictException>(() =>
            store.AppendAsync("claim-2", ExpectedVersion.Any, TestStores.Events(2), "req-1"));

        Assert.Equal(("claim-2", "req-1"), (conflict.StreamId, conflict.Key));
        Assert.Equal(0, await store.GetStreamVersionAsync("claim-2"));
        Assert.Equal(2, await store.GetHeadPositionAsync());
    }

    [Fact]
    public async Task Identical_requests_racing_on_two_replicas_append_exactly_once_and_all_get_the_same_receipt()
    {
        await using var t = await TestStores.CreateAsync(db);
        var replicas = new[] { t.NewStore("idem-a"), t.NewStore("idem-b") };
        for (var round = 0; round < 10; round++)
        {
            var stream = $"claim-{round}";
            var key = $"req-{round}";
            var events = TestStores.Events(2);
            // Twenty copies of one request (a client retrying on a timeout, a proxy duplicating it) at once on both replicas.
            var results = await Task.WhenAll(Enumerable.Range(0, 20)
                .Select(i => Task.Run(() => replicas[i % 2].AppendAsync(stream, ExpectedVersion.NoStream, events, key))));

            Assert.Single(results, r => !r.Deduplicated);
            Assert.Single(results.Select(r => (r.FirstPosition, r.LastPosition, r.ChainHash, r.NextExpectedVersion)).Distinct());
            Assert.Equal(2, await replicas[0].GetStreamVersionAsync(stream));
        }
        Assert.Equal(20L, await t.ScalarAsync<long>("SELECT count(*) FROM {s}.mt_events"));
        Assert.True((await replicas[1].VerifyAsync()).IsIntact);
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
    public async Task A_batch_in_which_some_appends_conflict_commits_all_the_others_in_one_transaction()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync("contested", ExpectedVersion.NoStream, TestStores.Events(1));
        await store.AppendAsync("keyed", ExpectedVersion.NoStream, TestStores.Events(1), "req-used");
        var commitsBefore = store.Statistics.Commits;

        // Hold the global-order lock while everything queues, so the writer takes the appends together once it is free.
        Task<AppendResult>[] good, stale;
        Task<AppendResult> reused;
        await using (var admin = await t.OpenAdminAsync())
        {
            await using var hold = await admin.BeginTransactionAsync();
            await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", admin, hold))
            {
                lockCmd.Parameters.AddWithValue(GlobalOrder.LockKey(t.Schema));
                await lockCmd.ExecuteNonQueryAsync();
            }
            good = Enumerable.Range(0, 100).Select(
                i => store.AppendAsync($"s-{i}", ExpectedVersion.NoStream, TestStores.Events(2))).ToArray();
            stale = Enumerable.Range(0, 5).Select(
                _ => store.AppendAsync("contested", ExpectedVersion.NoStream, TestStores.Events(1))).ToArray();
            reused = store.AppendAsync("elsewhere", ExpectedVersion.Any, TestStores.Events(1), "req-used");
            await hold.CommitAsync();
        }
        var results = await Task.WhenAll(good);

        foreach (var s in stale) Assert.Equal(1, (await Assert.ThrowsAsync<WrongExpectedVersionException>(() => s)).ActualVersion);
        await Assert.ThrowsAsync<IdempotencyKeyConflictException>(() => reused);
        Assert.Equal(Enumerable.Range(3, 200).Select(i => (long)i),
            results.SelectMany(r => new[] { r.FirstPosition, r.LastPosition }).Order());
        // The first append may have been taken alone before the others queued; all the rest went in one transaction.
        Assert.InRange(store.Statistics.Commits - commitsBefore, 1, 2);
        Assert.Equal(1, await store.GetStreamVersionAsync("contested"));
        Assert.Equal(0, await store.GetStreamVersionAsync("elsewhere"));
        Assert.True((await store.VerifyAsync()).IsIntact);
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
    public async Task Recorded_at_comes_from_the_database_clock_and_data_and_metadata_round_trip()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var before = await t.ScalarAsync<DateTime>("SELECT clock_timestamp()");
        var metadata = new EventMetadata("ana", "corr-1", "cause-1", "article-7");
        var r = await store.AppendAsync("claim-1", ExpectedVersion.Any, [TestStores.Event(new NoteWritten("zé \"quoted\" ü"), metadata)]);
        var after = await t.ScalarAsync<DateTime>("SELECT clock_timestamp()");

        var e = Assert.Single(await store.ReadStreamAsync("claim-1").ToListAsync());
        Assert.InRange(e.RecordedAt, before, after);
        Assert.Equal(DateTimeKind.Utc, e.RecordedAt.Kind);
        Assert.Equal(r.RecordedAt, e.RecordedAt);
        Assert.Equal(metadata, e.Metadata);
        Assert.Equal(new NoteWritten("zé \"quoted\" ü"), e.Data);
        Assert.Equal("note-written.v1", e.Type);
        Assert.Equal(r.ChainHash, e.HashHex);
    }

    [Fact]
    public async Task An_event_the_database_refuses_fails_its_own_append_alone_and_the_rest_of_its_batch_commits()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync("seed", ExpectedVersion.NoStream, TestStores.Events(1));

        // jsonb has no NUL character: PostgreSQL refuses the text of this event.
        var refused = new EventData(Guid.NewGuid(), new NoteWritten("a\u0000b"));
        Task<AppendResult>[] good;
        Task<AppendResult> bad;
        await using (var admin = await t.OpenAdminAsync())
        {
            await using var hold = await admin.BeginTransactionAsync();
            await using (var lockCmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", admin, hold))
            {
                lockCmd.Parameters.AddWithValue(GlobalOrder.LockKey(t.Schema));
                await lockCmd.ExecuteNonQueryAsync();
            }
            good = Enumerable.Range(0, 20).Select(
                i => store.AppendAsync($"s-{i}", ExpectedVersion.NoStream, TestStores.Events(1))).ToArray();
            bad = store.AppendAsync("note", ExpectedVersion.NoStream, [TestStores.Event(), refused]);
            await hold.CommitAsync();
        }
        var results = await Task.WhenAll(good);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => bad);
        Assert.IsNotType<WrongExpectedVersionException>(error);
        Assert.Equal(0, await store.GetStreamVersionAsync("note"));
        Assert.All(results, r => Assert.Equal(1, r.NextExpectedVersion));
        var stored = await store.ReadAllAsync().Select(e => e.StreamId).ToListAsync();
        Assert.Equal(21, stored.Count);
        Assert.DoesNotContain("note", stored);
        Assert.True((await store.VerifyAsync()).IsIntact);
    }

    [Fact]
    public async Task An_event_of_a_type_not_mapped_in_the_event_graph_is_refused_and_the_others_of_its_batch_commit()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var good = Enumerable.Range(0, 20).Select(
            i => store.AppendAsync($"s-{i}", ExpectedVersion.NoStream, TestStores.Events(1))).ToArray();
        var refused = await Assert.ThrowsAsync<ArgumentException>(() =>
            store.AppendAsync("unmapped", ExpectedVersion.NoStream, [TestStores.Event(), TestStores.Event(new NeverMapped(1))]));
        var results = await Task.WhenAll(good);

        Assert.Contains(nameof(NeverMapped), refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, await store.GetStreamVersionAsync("unmapped"));
        Assert.Equal(20, results.Length);
        Assert.Equal(20, await store.GetHeadPositionAsync());
    }

    [Fact]
    public async Task A_commit_whose_answer_is_lost_is_never_appended_twice_and_a_keyed_append_gets_its_original_result()
    {
        await using var t = await TestStores.CreateAsync(db);
        var direct = new NpgsqlConnectionStringBuilder(t.ConnectionString);
        await using var proxy = new CommitCuttingProxy(direct.Host!, direct.Port);
        var store = t.NewStore("lost-answer", viaPort: proxy.Port, loggerFactory: new TestLoggerFactory(output));
        var observer = t.NewStore("observer");
        await store.AppendAsync("warm-up", ExpectedVersion.NoStream, TestStores.Events(1));

        // Without a key nothing can tell a retry from a new append: the caller hears that the outcome is unknown.
        proxy.Arm(1);
        var keyless = TestStores.Events(3);
        Exception? unknown = null;
        try { await store.AppendAsync("keyless", ExpectedVersion.Any, keyless); }
        catch (Exception ex) { unknown = ex; }
        Assert.Equal(1, proxy.Cuts);
        var stored = await observer.ReadStreamAsync("keyless").Select(e => e.EventId).ToListAsync();
        Assert.Equal(keyless.Select(e => e.EventId), stored); // committed once, not again by a blind retry
        Assert.NotNull(unknown);

        // With a key the writer's retry is answered by the record the lost commit wrote.
        proxy.Arm(1);
        var keyed = TestStores.Events(2);
        var result = await store.AppendAsync("keyed", ExpectedVersion.NoStream, keyed, "req-lost-answer");
        Assert.Equal(2, proxy.Cuts);
        var keyedStored = await observer.ReadStreamAsync("keyed").ToListAsync();
        Assert.Equal(keyed.Select(e => e.EventId), keyedStored.Select(e => e.EventId));
        Assert.Equal((keyedStored[0].Position, keyedStored[1].Position, keyedStored[1].HashHex, 2L),
            (result.FirstPosition, result.LastPosition, result.ChainHash, result.NextExpectedVersion));
        Assert.True((await observer.VerifyAsync()).IsIntact);
    }
}
