using Npgsql;

namespace Annotate.EventStore;

/// <summary>The first place where the stored chain does not hold.</summary>
public sealed record BrokenLink(long Position, string Reason, string? ExpectedHash, string? FoundHash);

/// <summary>Whether a receipt still holds: the event at its position exists and carries its hash.</summary>
public sealed record ReceiptCheck(Receipt Receipt, bool Holds, string? FoundHash);

/// <summary>Outcome of <see cref="IEventStore.VerifyAsync"/>.</summary>
public sealed record VerifyReport(long EventsChecked, long LastPosition, BrokenLink? FirstBrokenLink, IReadOnlyList<ReceiptCheck> Receipts)
{
    public bool IsIntact => FirstBrokenLink is null && Receipts.All(r => r.Holds);
}

/// <summary>
/// Walks the events table in position order, page by page (constant memory), recomputing every hash from the
/// stored text and the previous stored hash. Detects: changed rows (hash mismatch), removed rows (position gap),
/// rows inserted outside the store (hash mismatch), a head row that disagrees with the last event (rows removed
/// from or added at the end), and, through receipts, removals of the newest events and rewrites whose hashes
/// were recomputed consistently.
/// </summary>
internal static class AuditVerifier
{
    public static async Task<VerifyReport> VerifyAsync(NpgsqlDataSource dataSource, string schema, int pageSize,
        IEnumerable<Receipt>? receipts, IProgress<long>? progress, CancellationToken ct)
    {
        var pendingReceipts = (receipts ?? []).OrderBy(r => r.Position).ToList();
        var checks = new List<ReceiptCheck>(pendingReceipts.Count);
        var nextReceipt = 0;
        BrokenLink? broken = null;
        byte[] previous = EventChain.Genesis.ToArray();
        long expectedPosition = 1, checkedCount = 0, last = 0;
        // The head at the start: the chain must reach it with the same hash. Appends that commit during the walk
        // only add rows past it, and they move the head in the same transaction (checked again at the end).
        var (startHead, startHeadHash) = await ReadHeadAsync(dataSource, schema, ct).ConfigureAwait(false);

        // Walk by position windows up to the highest stored position (as seen now): bounded queries whatever
        // the statistics, and a window emptied by deletions does not end the walk early.
        long maxStored;
        await using (var max = dataSource.CreateCommand($"SELECT coalesce(max(position), 0) FROM {schema}.events"))
            maxStored = (long)(await max.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        for (long windowStart = 0; windowStart < maxStored;)
        {
            await using var cmd = dataSource.CreateCommand(
                $"SELECT position, stream_id, stream_version, event_id, type, data::text, metadata::text, recorded_at, hash FROM " +
                    $"{schema}.events WHERE position > $1 AND position <= $2 ORDER BY position");
            cmd.Parameters.AddWithValue(windowStart);
            cmd.Parameters.AddWithValue(windowStart + pageSize);
            var rows = 0;
            await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    var e = PostgresEventStore.ReadEvent(r);
                    rows++;
                    if (broken is null && e.Position != expectedPosition)
                    {
                        broken = new BrokenLink(
                            expectedPosition,
                            $"position {expectedPosition} is missing (next stored position is {e.Position})",
                            null,
                            null);
                    }

                    var computed = EventChain.Compute(e, previous);
                    if (broken is null && !computed.AsSpan().SequenceEqual(e.Hash))
                    {
                        broken = new BrokenLink(e.Position, "stored hash does not match the event's content and the previous hash",
                            Convert.ToHexStringLower(computed), e.HashHex);
                    }

                    if (broken is null && e.Position == startHead && !startHeadHash.AsSpan().SequenceEqual(e.Hash))
                    {
                        broken = new BrokenLink(e.Position, "the head row's hash differs from the stored event's hash",
                            Convert.ToHexStringLower(startHeadHash), e.HashHex);
                    }

                    while (nextReceipt < pendingReceipts.Count && pendingReceipts[nextReceipt].Position <= e.Position)
                    {
                        var receipt = pendingReceipts[nextReceipt++];
                        checks.Add(
                            receipt.Position == e.Position
                                ? new ReceiptCheck(
                                    receipt,
                                    string.Equals(receipt.Hash, e.HashHex, StringComparison.OrdinalIgnoreCase),
                                    e.HashHex)
                                : new ReceiptCheck(receipt, false, null));
                    }
                    // Continue from the stored hash so that one tampered row is reported once, not for the whole tail.
                    previous = e.Hash;
                    expectedPosition = e.Position + 1;
                    last = e.Position;
                    checkedCount++;
                }
            }
            if (rows > 0)
            {
                progress?.Report(last);
                windowStart += pageSize;
                continue;
            }
            // An empty window (rows deleted, or a row planted far ahead): jump to the next stored position.
            await using var next = dataSource.CreateCommand($"SELECT min(position) FROM {schema}.events WHERE position > $1");
            next.Parameters.AddWithValue(windowStart);
            windowStart = await next.ExecuteScalarAsync(ct).ConfigureAwait(false) is long p ? p - 1 : maxStored;
        }
        while (nextReceipt < pendingReceipts.Count) checks.Add(new ReceiptCheck(pendingReceipts[nextReceipt++], false, null));

        if (broken is null && last < startHead)
        {
            broken = new BrokenLink(
                last + 1,
                $"the head row says the chain ends at position {startHead}, but the last stored event is at {last}",
                Convert.ToHexStringLower(startHeadHash),
                null);
        }

        var (endHead, _) = await ReadHeadAsync(dataSource, schema, ct).ConfigureAwait(false);
        if (broken is null && last > endHead)
        {
            broken = new BrokenLink(
                endHead + 1,
                $"events past the head row's position {endHead} were not written by the store",
                null,
                null);
        }

        return new VerifyReport(checkedCount, last, broken, checks);
    }

    private static async Task<(long Position, byte[] Hash)> ReadHeadAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand($"SELECT last_position, last_hash FROM {schema}.head WHERE id = 1");
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await r.ReadAsync(ct).ConfigureAwait(false)) throw new InvalidOperationException("The event store's head row is missing.");
        return (r.GetInt64(0), r.GetFieldValue<byte[]>(1));
    }
}
