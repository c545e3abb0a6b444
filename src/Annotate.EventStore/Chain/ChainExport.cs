using System.Runtime.CompilerServices;
using Npgsql;

namespace Annotate.EventStore.Chain;

/// <summary>The chain's head row: the last committed position, its link and time (position 0 and the genesis link when empty).</summary>
public sealed record ChainHead(long Position, byte[] Link, DateTime RecordedAt)
{
    public string LinkHex => Convert.ToHexStringLower(Link);
}

/// <summary>
/// One position of the log as the database holds it, with the texts the chain's digests are taken over: the data as
/// PostgreSQL's <c>data::text</c> and the metadata object of <see cref="EventChain.MetadataDigestSql"/>. A link without
/// its event has <see cref="HasEvent"/> false; an event without a link has a null <see cref="Link"/>.
/// </summary>
public sealed record ExportedPosition(
    long Position,
    bool HasEvent,
    string? StreamId,
    long StreamVersion,
    Guid EventId,
    string? Type,
    DateTime RecordedAt,
    string? DataText,
    string? MetadataText,
    byte[]? DataDigest,
    byte[]? MetadataDigest,
    byte[]? Link,
    LegacyRecord? Legacy = null);

/// <summary>
/// The previous version's record of a position moved into Marten (<see cref="Legacy.LegacyImport"/>): the exact texts and fields
/// its "annotate-chain-v1" link covers (<see cref="EventChain.ComputeV1"/>).
/// </summary>
public sealed record LegacyRecord(string StreamId, long StreamVersion, Guid EventId, string Type, DateTime RecordedAt, string DataText,
    string MetadataText);

/// <summary>
/// Reads for publishing and exporting the chain. They read the events and link tables directly (as
/// <see cref="AuditVerifier"/> does) because the exact stored texts are what the digests cover: Marten's event API hands out
/// deserialized objects, whose re-serialization would not reproduce PostgreSQL's jsonb text.
/// </summary>
public static class ChainExport
{
    private const string TombstoneType = "tombstone";

    public static async Task<ChainHead> GetChainHeadAsync(this MartenEventStore store, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        await using var cmd = store.DataSource.CreateCommand(
            $"SELECT position, link, recorded_at FROM {store.Schema}.{MartenConventions.ChainHeadTable} WHERE id = 1");
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await r.ReadAsync(ct).ConfigureAwait(false)
            ? new ChainHead(r.GetInt64(0), r.GetFieldValue<byte[]>(1), r.GetFieldValue<DateTimeOffset>(2).UtcDateTime)
            : new ChainHead(0, EventChain.Genesis.ToArray(), DateTime.UnixEpoch);
    }

    /// <summary>
    /// Positions in (<paramref name="after"/>, <paramref name="to"/>] in order, one window of positions per query (constant
    /// memory). Tombstones Marten writes for the numbers of a failed save are not part of the log and are left out.
    /// </summary>
    public static async IAsyncEnumerable<ExportedPosition> ExportAsync(this MartenEventStore store, long after, long to,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var s = store.Schema;
        var window = Math.Max(1, store.Options.ReadPageSize);
        // Positions moved from the previous version carry v1 links over that version's texts, kept in its table.
        var legacyHead = await AuditVerifier.ReadLegacyHeadAsync(store.DataSource, s, ct).ConfigureAwait(false);
        var legacyColumns = legacyHead > 0
            ? ", l.position IS NOT NULL, l.stream_id, l.stream_version, l.event_id, l.type, l.recorded_at, l.data::text, l.metadata::text"
            : "";
        var legacyJoin = legacyHead > 0
            ? $"LEFT JOIN {s}.{Legacy.LegacyImport.EventsTable} l "
                + $"ON l.position = coalesce(ev.seq_id, ln.position) AND l.position <= {legacyHead}"
            : "";
        for (var start = after; start < to; start += window)
        {
            await using var cmd = store.DataSource.CreateCommand($"""
                WITH ev AS (
                    SELECT e.seq_id, e.stream_id, e.version, e.id, e.type, e.timestamp, e.data::text AS data_text,
                           jsonb_build_object('user', e.user_name, 'correlation', e.correlation_id, 'causation', e.causation_id,
                                              'headers', e.headers)::text AS metadata_text
                    FROM {s}.mt_events e WHERE e.seq_id > $1 AND e.seq_id <= $2 AND e.type <> '{TombstoneType}'),
                ln AS (SELECT position, data_digest, metadata_digest, link FROM {s}.{MartenConventions.ChainLinksTable}
                    WHERE position > $1 AND position <= $2)
                SELECT coalesce(ev.seq_id, ln.position), ev.seq_id IS NOT NULL, ev.stream_id, ev.version, ev.id, ev.type, ev.timestamp,
                       ev.data_text, ev.metadata_text, ln.data_digest, ln.metadata_digest, ln.link {legacyColumns}
                FROM ev FULL JOIN ln ON ln.position = ev.seq_id {legacyJoin} ORDER BY 1
                """);
            cmd.Parameters.AddWithValue(start);
            cmd.Parameters.AddWithValue(Math.Min(to, start + window));
            await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                var hasEvent = r.GetBoolean(1);
                yield return new ExportedPosition(
                    r.GetInt64(0),
                    hasEvent,
                    hasEvent ? r.GetString(2) : null,
                    hasEvent ? r.GetInt64(3) : 0,
                    hasEvent ? r.GetGuid(4) : Guid.Empty,
                    hasEvent ? r.GetString(5) : null,
                    hasEvent ? r.GetFieldValue<DateTimeOffset>(6).UtcDateTime : default,
                    hasEvent ? r.GetString(7) : null,
                    hasEvent ? r.GetString(8) : null,
                    r.IsDBNull(9) ? null : r.GetFieldValue<byte[]>(9),
                    r.IsDBNull(10) ? null : r.GetFieldValue<byte[]>(10),
                    r.IsDBNull(11) ? null : r.GetFieldValue<byte[]>(11),
                    legacyHead > 0 && r.GetBoolean(12)
                        ? new LegacyRecord(r.GetString(13), r.GetInt64(14), r.GetGuid(15), r.GetString(16),
                            r.GetFieldValue<DateTimeOffset>(17).UtcDateTime, r.GetString(18), r.GetString(19))
                        : null);
            }
        }
    }
}
