using Annotate.EventStore.Legacy;
using Npgsql;

namespace Annotate.EventStore.Chain;

/// <summary>
/// Walks Marten's events and the chain's links side by side in position order, a window at a time (constant memory).
/// For every event it recomputes the digests of what is stored now and the link from them and the previous stored
/// link. Detects: changed data or metadata (digest mismatch), a changed position, stream, version, id, type or time
/// (link mismatch), an event removed from the middle (the next link no longer follows), an event inserted outside
/// the writer (no link), a head row that disagrees with the last link (events removed from or added at the end), and,
/// through receipts, removals of the newest events and rewrites whose links were recomputed consistently.
/// Positions may have holes (numbers of a rolled-back batch are never reused); the links, not the numbers, say
/// what follows what. In a database moved from the previous store (<see cref="LegacyImport"/>), positions up to the
/// last moved one are checked by the v1 link over the kept legacy texts, and Marten's row at each must still be the
/// legacy event (<see cref="LegacyImport.SameEventSql"/>); later positions by the v2 link.
/// </summary>
internal static class AuditVerifier
{
    private const string TombstoneType = "tombstone";

    public static async Task<VerifyReport> VerifyAsync(NpgsqlDataSource dataSource, string schema, int pageSize,
        IEnumerable<Receipt>? receipts, IProgress<long>? progress, CancellationToken ct, string? erasureType = null)
    {
        // Data replaced by a recorded erasure verifies by the digest the erasure recorded (Erasure); anything else must
        // hash to the digest its link covers.
        var erasures = await Erasure.ReadRecordedAsync(dataSource, schema, erasureType, ct).ConfigureAwait(false);
        var erased = new List<long>();
        var erasedBy = new SortedSet<long>();
        var pendingReceipts = (receipts ?? []).OrderBy(r => r.Position).ToList();
        var checks = new List<ReceiptCheck>(pendingReceipts.Count);
        var nextReceipt = 0;
        BrokenLink? broken = null;
        var previous = EventChain.Genesis.ToArray();
        long checkedCount = 0, last = 0;
        // The head at the start: the chain must reach it with the same link. Appends committing during the walk only
        // add positions past it, and move the head in the same transaction.
        var (startHead, startHeadLink) = await ReadHeadAsync(dataSource, schema, ct).ConfigureAwait(false);
        long maxStored;
        await using (var max = dataSource.CreateCommand(
            $"SELECT greatest((SELECT coalesce(max(seq_id), 0) FROM {schema}.mt_events WHERE type <> '{TombstoneType}'), " +
            $"(SELECT coalesce(max(position), 0) FROM {schema}.{MartenConventions.ChainLinksTable}))"))
        {
            maxStored = (long)(await max.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }

        // A database imported from the previous version (LegacyImport): positions up to its last one carry the v1
        // links over the legacy texts, and Marten's rows there must still be the legacy events.
        var legacyHead = await ReadLegacyHeadAsync(dataSource, schema, ct).ConfigureAwait(false);
        var legacyColumns = legacyHead > 0
            ? $"""
               , l.position IS NOT NULL, l.stream_id, l.stream_version, l.event_id, l.type, l.data::text, l.metadata::text, l.recorded_at,
               coalesce(ev.seq_id IS NOT NULL AND l.position IS NOT NULL
                   AND (SELECT {LegacyImport.SameEventSql} FROM {schema}.mt_events e WHERE e.seq_id = l.position), false),
               coalesce(ev.seq_id IS NOT NULL AND l.position IS NOT NULL
                   AND (SELECT {LegacyImport.SameEventExceptDataSql} FROM {schema}.mt_events e WHERE e.seq_id = l.position), false)
               """
            : "";
        var legacyJoin = legacyHead > 0
            ? $"LEFT JOIN {schema}.{LegacyImport.EventsTable} l ON l.position = coalesce(ev.seq_id, ln.position) " +
              $"AND l.position <= {legacyHead}"
            : "";
        for (long windowStart = 0; windowStart < maxStored; windowStart += pageSize)
        {
            await using var cmd = dataSource.CreateCommand($"""
                WITH ev AS (
                    SELECT e.seq_id, e.stream_id, e.version, e.id, e.type, e.timestamp,
                           {EventChain.DataDigestSql} AS data_digest, {EventChain.MetadataDigestSql} AS metadata_digest
                    FROM {schema}.mt_events e WHERE e.seq_id > $1 AND e.seq_id <= $2 AND e.type <> '{TombstoneType}'),
                ln AS (SELECT position, data_digest, metadata_digest, link FROM {schema}.{MartenConventions.ChainLinksTable}
                    WHERE position > $1 AND position <= $2)
                SELECT coalesce(ev.seq_id, ln.position), ev.seq_id IS NOT NULL, ln.position IS NOT NULL, ev.stream_id, ev.version,
                       ev.id, ev.type, ev.timestamp, ev.data_digest, ev.metadata_digest, ln.data_digest, ln.metadata_digest, ln.link
                       {legacyColumns}
                FROM ev FULL JOIN ln ON ln.position = ev.seq_id {legacyJoin} ORDER BY 1
                """);
            cmd.Parameters.AddWithValue(windowStart);
            cmd.Parameters.AddWithValue(windowStart + pageSize);
            await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    var position = r.GetInt64(0);
                    var hasEvent = r.GetBoolean(1);
                    var hasLink = r.GetBoolean(2);
                    byte[]? link = hasLink ? r.GetFieldValue<byte[]>(12) : null;
                    if (!hasLink)
                    {
                        broken ??= new BrokenLink(
                            position, $"event {position} has no chain link: it was not written by the store", null, null);
                        continue;
                    }
                    if (!hasEvent)
                    {
                        broken ??= new BrokenLink(position, $"event {position} is missing (its chain link remains)", null, Hex(link));
                    }
                    else
                    {
                        var dataNow = r.GetFieldValue<byte[]>(8);
                        var metadataNow = r.GetFieldValue<byte[]>(9);
                        var dataLinked = r.GetFieldValue<byte[]>(10);
                        var metadataLinked = r.GetFieldValue<byte[]>(11);
                        var erasedNow = !dataNow.AsSpan().SequenceEqual(dataLinked)
                            && erasures.TryGetValue(position, out var erasure) && dataNow.AsSpan().SequenceEqual(erasure.Digest);
                        if (erasedNow)
                        {
                            erased.Add(position);
                            erasedBy.Add(erasures[position].ErasedAt);
                        }
                        else if (!dataNow.AsSpan().SequenceEqual(dataLinked))
                        {
                            broken ??= erasures.TryGetValue(position, out var recorded)
                                ? new BrokenLink(
                                    position,
                                    $"the data of event {position} was changed after the erasure at position {recorded.ErasedAt} "
                                    + "replaced it",
                                    Hex(recorded.Digest),
                                    Hex(dataNow))
                                : new BrokenLink(
                                    position,
                                    $"the data of event {position} was changed after it was written",
                                    Hex(dataLinked),
                                    Hex(dataNow));
                        }
                        else if (!metadataNow.AsSpan().SequenceEqual(metadataLinked))
                        {
                            broken ??= new BrokenLink(position, $"the metadata of event {position} was changed after it was written",
                                Hex(metadataLinked), Hex(metadataNow));
                        }
                        byte[] computed;
                        if (position <= legacyHead)
                        {
                            if (r.GetBoolean(13))
                            {
                                computed = EventChain.ComputeV1(position, r.GetString(14), r.GetInt64(15), r.GetGuid(16), r.GetString(17),
                                    r.GetString(18), r.GetString(19), r.GetFieldValue<DateTimeOffset>(20).UtcDateTime, previous);
                                // An erased moved event keeps the previous version's text for its v1 link; its data differs from it
                                // by the erasure, its other fields may not.
                                if (!r.GetBoolean(erasedNow ? 22 : 21))
                                {
                                    broken ??= new BrokenLink(
                                        position,
                                        $"event {position} no longer matches its record from the previous version",
                                        null,
                                        null);
                                }
                            }
                            else
                            {
                                computed = [];
                                broken ??= new BrokenLink(position, $"the previous version's record of event {position} is missing", null,
                                    Hex(link));
                            }
                        }
                        else
                        {
                            computed = EventChain.Compute(position, r.GetString(3), r.GetInt64(4), r.GetGuid(5), r.GetString(6),
                                dataLinked, metadataLinked, r.GetFieldValue<DateTimeOffset>(7).UtcDateTime, previous);
                        }
                        if (!computed.AsSpan().SequenceEqual(link))
                        {
                            broken ??= new BrokenLink(
                                position,
                                "the stored link does not match the event and the previous link",
                                Hex(computed),
                                Hex(link));
                        }
                    }
                    if (position == startHead && !startHeadLink.AsSpan().SequenceEqual(link))
                    {
                        broken ??= new BrokenLink(
                            position, "the head row's link differs from the stored link", Hex(startHeadLink), Hex(link));
                    }
                    while (nextReceipt < pendingReceipts.Count && pendingReceipts[nextReceipt].Position <= position)
                    {
                        var receipt = pendingReceipts[nextReceipt++];
                        checks.Add(receipt.Position == position && hasEvent
                            ? new ReceiptCheck(
                                receipt,
                                string.Equals(receipt.Hash, Hex(link), StringComparison.OrdinalIgnoreCase),
                                Hex(link))
                            : new ReceiptCheck(receipt, false, null));
                    }
                    // Continue from the stored link so that one tampered row is reported once, not for the whole tail.
                    previous = link!;
                    last = position;
                    if (hasEvent) checkedCount++;
                }
            }
            progress?.Report(Math.Min(windowStart + pageSize, maxStored));
        }
        while (nextReceipt < pendingReceipts.Count) checks.Add(new ReceiptCheck(pendingReceipts[nextReceipt++], false, null));

        if (broken is null && last < startHead)
        {
            broken = new BrokenLink(last + 1, $"the head row says the chain ends at position {startHead}, but the last link is at {last}",
                Hex(startHeadLink), null);
        }
        var (endHead, _) = await ReadHeadAsync(dataSource, schema, ct).ConfigureAwait(false);
        if (broken is null && last > endHead)
            broken = new BrokenLink(endHead + 1, $"links past the head row's position {endHead} were not written by the store", null, null);
        return new VerifyReport(checkedCount, last, broken, checks, erased, [.. erasedBy]);
    }

    private static string? Hex(byte[]? bytes) => bytes is null ? null : Convert.ToHexStringLower(bytes);

    /// <summary>The last position imported from the previous version (0 when the database was not imported).</summary>
    internal static async Task<long> ReadLegacyHeadAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        await using var exists = dataSource.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
        exists.Parameters.AddWithValue($"{schema}.{LegacyImport.HeadTable}");
        if (!(bool)(await exists.ExecuteScalarAsync(ct).ConfigureAwait(false))!) return 0;
        await using var cmd = dataSource.CreateCommand($"SELECT last_position FROM {schema}.{LegacyImport.HeadTable} WHERE id = 1");
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long p ? p : 0;
    }

    private static async Task<(long Position, byte[] Link)> ReadHeadAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            $"SELECT position, link FROM {schema}.{MartenConventions.ChainHeadTable} WHERE id = 1");
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        return await r.ReadAsync(ct).ConfigureAwait(false)
            ? (r.GetInt64(0), r.GetFieldValue<byte[]>(1))
            : (0, EventChain.Genesis.ToArray());
    }
}
