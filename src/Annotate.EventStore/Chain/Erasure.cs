using Annotate.EventStore.Order;
using Npgsql;
using NpgsqlTypes;

namespace Annotate.EventStore.Chain;

/// <summary>
/// Erasure that keeps the chain verifiable. A link covers the digest of an event's data, not the data, and
/// <c>chain_links</c> keeps the digest it was made from; so the data of a written event may be replaced (personal text
/// masked) and every link still recomputes. What the verifier must then know is that the replacement was intended, and
/// what it was: an <b>erasure event</b> (type <see cref="EventStoreOptions.ErasureEventType"/>), itself in the chain,
/// lists each erased position with the digest of its replacement data under <see cref="ListProperty"/>:
/// <c>{"erased": [{"position": 12, "dataDigest": "&lt;64 hex&gt;"}, ...]}</c>. An event whose data hashes neither to its
/// linked digest nor to the digest an erasure recorded for it (at a later position) is broken, so a change to the
/// remaining fields of an erased event is caught as well as a change to any other event. The metadata is never replaced
/// (its digest must still match).
/// The host records the erasure first (with digests from <see cref="DataDigestsAsync"/>), then replaces the data (Marten's
/// event data masking): between the two the data still hashes to its linked digest, which verifies too.
/// </summary>
public static class Erasure
{
    /// <summary>The array in an erasure event's data that lists what it erased.</summary>
    public const string ListProperty = "erased";

    /// <summary>
    /// The digests the chain would take of these event data texts once stored: SHA-256 of PostgreSQL's canonical jsonb
    /// text (<see cref="EventChain.DataDigestSql"/>), computed by PostgreSQL so that the form is exactly the stored one.
    /// </summary>
    public static async Task<IReadOnlyList<byte[]>> DataDigestsAsync(this MartenEventStore store, IReadOnlyList<string> jsonTexts,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(jsonTexts);
        if (jsonTexts.Count == 0) return [];
        await using var cmd = store.DataSource.CreateCommand(
            "SELECT sha256(convert_to(t.j::jsonb::text, 'UTF8')) FROM unnest($1::text[]) WITH ORDINALITY AS t(j, n) ORDER BY t.n");
        cmd.Parameters.Add(new NpgsqlParameter { Value = jsonTexts.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        var digests = new List<byte[]>(jsonTexts.Count);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) digests.Add(r.GetFieldValue<byte[]>(0));
        return digests;
    }

    /// <summary>
    /// The digests of the data stored now at these positions (what the verifier compares), by position. Read from
    /// Marten's table directly for the same reason as <see cref="ChainExport"/>: the digest is over the stored jsonb text.
    /// </summary>
    public static async Task<IReadOnlyDictionary<long, byte[]>> CurrentDataDigestsAsync(this MartenEventStore store,
        IReadOnlyCollection<long> positions, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var found = new Dictionary<long, byte[]>();
        if (positions.Count == 0) return found;
        await using var cmd = store.DataSource.CreateCommand(
            $"SELECT e.seq_id, {EventChain.DataDigestSql} FROM {store.Schema}.mt_events e WHERE e.seq_id = ANY($1)");
        cmd.Parameters.AddWithValue(positions.ToArray());
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) found[r.GetInt64(0)] = r.GetFieldValue<byte[]>(1);
        return found;
    }

    /// <summary>
    /// Runs <paramref name="work"/> while no append can commit: it holds the global-order lock (<see cref="GlobalOrder"/>,
    /// here at session level on a connection of its own, which excludes every writer's transaction-level lock on the same
    /// key) until the work ends. For rewriting views after an erasure without an append interleaving with the rewrite.
    /// </summary>
    public static async Task<T> WithAppendsPausedAsync<T>(this MartenEventStore store, Func<CancellationToken, Task<T>> work,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(work);
        await using var connection = await store.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_lock($1)", connection))
        {
            take.Parameters.AddWithValue(GlobalOrder.LockKey(store.Options.ValidatedSchema()));
            await take.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        try
        {
            var result = await work(ct).ConfigureAwait(false);
            // The work may have rewritten stored event data; the writer's kept states were folded from the old data.
            store.ForgetKeptStates();
            return result;
        }
        finally
        {
            // Closing the connection releases a session lock too; unlocking first returns the pooled connection clean.
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", connection);
            release.Parameters.AddWithValue(GlobalOrder.LockKey(store.Options.ValidatedSchema()));
            await release.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every erasure recorded in the log: erased position to (digest of the replacement data, position of the erasure).
    /// Only erasure events with a chain link count, and only for positions before their own. Malformed entries are
    /// ignored (the erasure event's own digest check reports the change that made them).
    /// </summary>
    internal static async Task<Dictionary<long, (byte[] Digest, long ErasedAt)>> ReadRecordedAsync(NpgsqlDataSource dataSource,
        string schema, string? erasureType, CancellationToken ct)
    {
        var recorded = new Dictionary<long, (byte[], long)>();
        if (string.IsNullOrEmpty(erasureType)) return recorded;
        await using var cmd = dataSource.CreateCommand($"""
            SELECT (x->>'position')::bigint, decode(x->>'dataDigest', 'hex'), e.seq_id
            FROM {schema}.mt_events e
            JOIN {schema}.{MartenConventions.ChainLinksTable} l ON l.position = e.seq_id
            CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(e.data->'{ListProperty}') = 'array'
                                                         THEN e.data->'{ListProperty}' ELSE '[]'::jsonb END) x
            WHERE e.type = $1 AND jsonb_typeof(x) = 'object'
              AND coalesce(x->>'position', '') ~ '^[0-9]+$' AND length(x->>'position') <= 18
              AND coalesce(x->>'dataDigest', '') ~ '^[0-9a-f]+$' AND length(x->>'dataDigest') = 64
              AND (x->>'position')::bigint < e.seq_id
            ORDER BY e.seq_id
            """);
        cmd.Parameters.AddWithValue(erasureType);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        // A later erasure of the same position (data erased again) records the digest that holds now.
        while (await r.ReadAsync(ct).ConfigureAwait(false)) recorded[r.GetInt64(0)] = (r.GetFieldValue<byte[]>(1), r.GetInt64(2));
        return recorded;
    }
}
