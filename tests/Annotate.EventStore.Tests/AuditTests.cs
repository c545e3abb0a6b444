using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Annotate.Testing;
using Npgsql;

namespace Annotate.EventStore.Tests;

public sealed class AuditTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    /// <summary>Ten events in three appends; returns a receipt per append (positions 3, 6, 10).</summary>
    private static async Task<List<Receipt>> SeedAsync(PostgresEventStore store)
    {
        var receipts = new List<Receipt>();
        receipts.Add((await store.AppendAsync("claim-1", ExpectedVersion.NoStream, TestStores.Events(3))).Receipt);
        receipts.Add((await store.AppendAsync("claim-2", ExpectedVersion.NoStream, TestStores.Events(3))).Receipt);
        receipts.Add((await store.AppendAsync("claim-1", ExpectedVersion.Exact(3), TestStores.Events(4))).Receipt);
        return receipts;
    }

    [Fact]
    public async Task An_untouched_chain_verifies_and_every_receipt_holds()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore(pageSize: 4);
        var receipts = await SeedAsync(store);
        var progress = new List<long>();

        var report = await store.VerifyAsync(receipts, new SyncProgress(progress.Add));

        Assert.True(report.IsIntact, report.FirstBrokenLink?.Reason);
        Assert.Equal((10L, 10L), (report.EventsChecked, report.LastPosition));
        Assert.All(report.Receipts, r => Assert.True(r.Holds));
        Assert.Equal([4, 8, 10], progress);
    }

    [Fact]
    public async Task The_chain_is_reproducible_from_the_table_alone_with_the_documented_serialization()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync(
            "claim-é",
            ExpectedVersion.Any,
            [TestStores.Event("x.v1", "{\"b\": \"ü\", \"a\": 1}", new EventMetadata("ana", ArticleId: "a1"))]);
        await SeedAsync(store);

        // An independent implementation of docs/event-store.md, "Audit chain", fed with raw column text.
        var previous = new byte[32];
        await using var conn = await t.OpenAdminAsync();
        await using var cmd = new NpgsqlCommand($"""
            SELECT position::text, stream_id, stream_version::text, event_id::text, type, data::text, metadata::text,
                   to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), hash
            FROM "{t.Schema}".events e ORDER BY e.position
            """, conn);
        await using var r = await cmd.ExecuteReaderAsync();
        var rows = 0;
        while (await r.ReadAsync())
        {
            using var buffer = new MemoryStream();
            void Field(byte[] bytes)
            {
                var len = new byte[4];
                BinaryPrimitives.WriteInt32BigEndian(len, bytes.Length);
                buffer.Write(len);
                buffer.Write(bytes);
            }
            Field(Encoding.UTF8.GetBytes("annotate-chain-v1"));
            for (var i = 0; i < 8; i++) Field(Encoding.UTF8.GetBytes(r.GetString(i)));
            Field(previous);
            var expected = SHA256.HashData(buffer.ToArray());
            Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(r.GetFieldValue<byte[]>(8)));
            previous = expected;
            rows++;
        }
        Assert.Equal(11, rows);
    }

    [Fact]
    public async Task An_updated_event_is_reported_as_the_first_broken_link()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await SeedAsync(store);
        await t.ExecuteAsync("UPDATE {s}.events SET data = '{\"i\": 99}' WHERE position = 5");

        var report = await store.VerifyAsync();

        Assert.Equal(5, report.FirstBrokenLink?.Position);
        Assert.NotEqual(report.FirstBrokenLink!.ExpectedHash, report.FirstBrokenLink.FoundHash);
    }

    [Fact]
    public async Task A_deleted_event_in_the_middle_is_reported_at_its_position()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await SeedAsync(store);
        await t.ExecuteAsync("DELETE FROM {s}.events WHERE position = 4");

        var report = await store.VerifyAsync();

        Assert.Equal(4, report.FirstBrokenLink?.Position);
        Assert.Contains("missing", report.FirstBrokenLink!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_inserted_with_plain_sql_is_reported()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await SeedAsync(store);
        await t.ExecuteAsync("""
            INSERT INTO {s}.events (position, stream_id, stream_version, event_id, type, data, metadata, recorded_at, hash)
            VALUES (11, 'claim-2', 4, gen_random_uuid(), 'thing-happened.v1', '{"i": 1}', '{}', now(), sha256('forged'::bytea))
            """);

        var report = await store.VerifyAsync();

        Assert.Equal(11, report.FirstBrokenLink?.Position);
    }

    [Fact]
    public async Task Deleting_the_newest_events_is_caught_by_the_head_and_by_receipts_even_when_the_head_is_forged()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var receipts = await SeedAsync(store);
        await t.ExecuteAsync("DELETE FROM {s}.events WHERE position > 6");

        var plain = await store.VerifyAsync();
        Assert.Equal(7, plain.FirstBrokenLink?.Position);

        // Cover the tracks: move the head back. The chain itself is now consistent; only receipts can tell.
        await t.ExecuteAsync("UPDATE {s}.head SET last_position = 6, last_hash = (SELECT hash FROM {s}.events WHERE position = 6)");
        var forged = await store.VerifyAsync(receipts);

        Assert.Null(forged.FirstBrokenLink);
        Assert.False(forged.IsIntact);
        Assert.Equal([true, true, false], forged.Receipts.Select(r => r.Holds));
    }

    [Fact]
    public async Task A_rewrite_with_recomputed_hashes_is_caught_by_receipts_past_the_rewrite()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var receipts = await SeedAsync(store);

        // The attacker knows the documented serialization: change event 5 and recompute every later hash and the head.
        var events = await store.ReadAllAsync().ToListAsync();
        var previous = events[3].Hash;
        await using (var conn = await t.OpenAdminAsync())
        {
            foreach (var e in events.Skip(4))
            {
                var data = e.Position == 5 ? "{\"i\": 1000}" : e.Data;
                var hash = EventChain.Compute(
                    e.Position,
                    e.StreamId,
                    e.StreamVersion,
                    e.EventId,
                    e.Type,
                    data,
                    e.MetadataJson,
                    e.RecordedAt,
                    previous);
                await using var cmd = new NpgsqlCommand(
                    $"UPDATE \"{t.Schema}\".events SET data = $1::json, hash = $2 WHERE position = $3",
                    conn);
                cmd.Parameters.AddWithValue(data);
                cmd.Parameters.AddWithValue(hash);
                cmd.Parameters.AddWithValue(e.Position);
                await cmd.ExecuteNonQueryAsync();
                previous = hash;
            }
            await using var head = new NpgsqlCommand($"UPDATE \"{t.Schema}\".head SET last_hash = $1", conn);
            head.Parameters.AddWithValue(previous);
            await head.ExecuteNonQueryAsync();
        }

        var report = await store.VerifyAsync(receipts);

        Assert.Null(report.FirstBrokenLink);
        Assert.Equal([true, false, false], report.Receipts.Select(r => r.Holds));
        Assert.Equal(receipts[1].Position, report.Receipts.First(r => !r.Holds).Receipt.Position);
    }

    private sealed class SyncProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
