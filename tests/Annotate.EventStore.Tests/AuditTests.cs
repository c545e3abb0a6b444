using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Annotate.EventStore.Chain;
using Annotate.Testing;
using Npgsql;

namespace Annotate.EventStore.Tests;

/// <summary>The audit chain over Marten's events: links in chain_links, the head in chain_head, receipts in the callers' hands.</summary>
public sealed class AuditTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    /// <summary>Ten events in three appends; returns a receipt per append (positions 3, 6, 10).</summary>
    private static async Task<List<Receipt>> SeedAsync(MartenEventStore store)
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
    public async Task The_chain_is_reproducible_from_the_tables_alone_with_the_documented_serialization()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await store.AppendAsync("claim-é", ExpectedVersion.Any,
            [TestStores.Event(new NoteWritten("ü \"b\""), new EventMetadata("ana", "corr-1", Tag: "a1"))]);
        await SeedAsync(store);

        // An independent implementation of the documented serialization (EventChain's summary), fed with column text:
        // the digests are SHA-256 of the jsonb texts PostgreSQL prints, computed here, not by the store's SQL.
        var previous = new byte[32];
        await using var conn = await t.OpenAdminAsync();
        await using var cmd = new NpgsqlCommand(t.InSchema("""
            SELECT e.seq_id::text, e.stream_id, e.version::text, e.id::text, e.type,
                   e.data::text,
                   jsonb_build_object('user', e.user_name, 'correlation', e.correlation_id, 'causation', e.causation_id,
                                      'headers', e.headers)::text,
                   to_char(e.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), l.link
            FROM {s}.mt_events e JOIN {s}.chain_links l ON l.position = e.seq_id ORDER BY e.seq_id
            """), conn);
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
            Field(Encoding.UTF8.GetBytes("annotate-chain-v2"));
            for (var i = 0; i < 5; i++) Field(Encoding.UTF8.GetBytes(r.GetString(i)));
            Field(SHA256.HashData(Encoding.UTF8.GetBytes(r.GetString(5))));
            Field(SHA256.HashData(Encoding.UTF8.GetBytes(r.GetString(6))));
            Field(Encoding.UTF8.GetBytes(r.GetString(7)));
            Field(previous);
            var expected = SHA256.HashData(buffer.ToArray());
            Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(r.GetFieldValue<byte[]>(8)));
            previous = expected;
            rows++;
        }
        Assert.Equal(11, rows);
        Assert.Equal(Convert.ToHexString(previous),
            Convert.ToHexString(await t.ScalarAsync<byte[]>("SELECT link FROM {s}.chain_head WHERE id = 1")));
    }

    [Fact]
    public async Task An_updated_event_is_reported_as_the_first_broken_link()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await SeedAsync(store);
        await t.ExecuteAsync("UPDATE {s}.mt_events SET data = '{\"N\": 99}' WHERE seq_id = 5");

        var report = await store.VerifyAsync();

        Assert.Equal(5, report.FirstBrokenLink?.Position);
        Assert.Contains("data", report.FirstBrokenLink!.Reason, StringComparison.Ordinal);
        Assert.NotEqual(report.FirstBrokenLink.ExpectedHash, report.FirstBrokenLink.FoundHash);
    }

    [Fact]
    public async Task Updated_metadata_is_reported_as_the_first_broken_link()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await SeedAsync(store);
        await t.ExecuteAsync("UPDATE {s}.mt_events SET user_name = 'mallory' WHERE seq_id = 7");

        var report = await store.VerifyAsync();

        Assert.Equal(7, report.FirstBrokenLink?.Position);
        Assert.Contains("metadata", report.FirstBrokenLink!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_event_in_the_middle_is_reported_at_its_position()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await SeedAsync(store);
        await t.ExecuteAsync("DELETE FROM {s}.mt_events WHERE seq_id = 4");

        var report = await store.VerifyAsync();

        Assert.Equal(4, report.FirstBrokenLink?.Position);
        Assert.Contains("missing", report.FirstBrokenLink!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_deleted_in_the_middle_with_its_link_is_reported_where_the_chain_no_longer_follows()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var receipts = await SeedAsync(store);
        await t.ExecuteAsync("DELETE FROM {s}.mt_events WHERE seq_id = 4; DELETE FROM {s}.chain_links WHERE position = 4");

        var report = await store.VerifyAsync(receipts);

        Assert.Equal(5, report.FirstBrokenLink?.Position);
        Assert.Contains("previous link", report.FirstBrokenLink!.Reason, StringComparison.Ordinal);
        Assert.False(report.IsIntact);
    }

    [Fact]
    public async Task An_event_inserted_with_plain_sql_is_reported()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await SeedAsync(store);
        // A copy of the last event with the next number, a new id and the next version: a row Marten itself could hold.
        await t.ExecuteAsync("""
            CREATE TEMP TABLE forged AS SELECT * FROM {s}.mt_events WHERE seq_id = 10;
            UPDATE forged SET seq_id = 11, id = gen_random_uuid(), version = version + 1, data = '{"N": 42}';
            INSERT INTO {s}.mt_events SELECT * FROM forged;
            """);

        var report = await store.VerifyAsync();

        Assert.Equal(11, report.FirstBrokenLink?.Position);
        Assert.Contains("no chain link", report.FirstBrokenLink!.Reason, StringComparison.Ordinal);
        // Readers do not take it for part of the log either.
        Assert.Equal(10, await store.ReadAllAsync().CountAsync());
    }

    [Fact]
    public async Task Deleting_the_newest_events_is_caught_by_the_head_and_by_receipts_even_when_the_head_is_forged()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var receipts = await SeedAsync(store);
        await t.ExecuteAsync("DELETE FROM {s}.mt_events WHERE seq_id > 6; DELETE FROM {s}.chain_links WHERE position > 6");

        var plain = await store.VerifyAsync();
        Assert.Equal(7, plain.FirstBrokenLink?.Position);

        // Cover the tracks: move the head back. The chain itself is now consistent; only receipts can tell.
        await t.ExecuteAsync("UPDATE {s}.chain_head SET position = 6, link = (SELECT link FROM {s}.chain_links WHERE position = 6)");
        var forged = await store.VerifyAsync(receipts);

        Assert.Null(forged.FirstBrokenLink);
        Assert.False(forged.IsIntact);
        Assert.Equal([true, true, false], forged.Receipts.Select(r => r.Holds));
    }

    [Fact]
    public async Task A_rewrite_with_recomputed_links_is_caught_by_receipts_past_the_rewrite()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var receipts = await SeedAsync(store);

        // The attacker knows the documented serialization: change event 5 and recompute every later digest and link and the head.
        await t.ExecuteAsync("UPDATE {s}.mt_events SET data = '{\"N\": 1000}' WHERE seq_id = 5");
        await using (var conn = await t.OpenAdminAsync())
        {
            var rows = new List<(long Position, string Stream, long Version, Guid Id, string Type, byte[] Data, byte[] Metadata,
                DateTime At)>();
            await using (var read = new NpgsqlCommand(t.InSchema($"""
                SELECT e.seq_id, e.stream_id, e.version, e.id, e.type, {EventChain.DataDigestSql}, {EventChain.MetadataDigestSql},
                    e.timestamp
                FROM {"{s}"}.mt_events e WHERE e.seq_id >= 5 ORDER BY e.seq_id
                """), conn))
            await using (var r = await read.ExecuteReaderAsync())
            {
                while (await r.ReadAsync())
                {
                    rows.Add((r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetGuid(3), r.GetString(4), r.GetFieldValue<byte[]>(5),
                        r.GetFieldValue<byte[]>(6), r.GetFieldValue<DateTimeOffset>(7).UtcDateTime));
                }
            }
            var previous = await t.ScalarAsync<byte[]>("SELECT link FROM {s}.chain_links WHERE position = 4");
            foreach (var e in rows)
            {
                var link = EventChain.Compute(e.Position, e.Stream, e.Version, e.Id, e.Type, e.Data, e.Metadata, e.At, previous);
                await using var update = new NpgsqlCommand(
                    t.InSchema("UPDATE {s}.chain_links SET data_digest = $1, metadata_digest = $2, link = $3 WHERE position = $4"), conn);
                update.Parameters.AddWithValue(e.Data);
                update.Parameters.AddWithValue(e.Metadata);
                update.Parameters.AddWithValue(link);
                update.Parameters.AddWithValue(e.Position);
                await update.ExecuteNonQueryAsync();
                previous = link;
            }
            await using var head = new NpgsqlCommand(t.InSchema("UPDATE {s}.chain_head SET link = $1"), conn);
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
