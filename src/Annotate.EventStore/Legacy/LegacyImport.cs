using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Annotate.EventStore.Chain;
using Annotate.EventStore.Order;
using JasperFx.Events;
using Marten;
using Marten.Services;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Annotate.EventStore.Legacy;

/// <summary>What <see cref="LegacyImport.RunAsync"/> did: the events, streams and request records it carried over.</summary>
public sealed record LegacyImportResult(long Events, long Streams, long Requests, long LastPosition, TimeSpan Elapsed);

/// <summary>
/// Moves a database written by the store's previous version (its own tables in the same schema: <c>events</c>,
/// <c>streams</c>, <c>head</c>) into Marten, once, on the first start of this version. Invariants:
/// - Every event keeps its id, stream, stream version, type, time and position (Marten's seq_id = the old position),
///   its data (the host's object, stored by Marten as it stores new events, equal as jsonb to the old text) and its
///   metadata (actor as user name, correlation and causation ids, article id as the <see cref="EventMetadata.TagHeader"/>
///   header, a request id that differs from the correlation id as the <see cref="RequestIdHeader"/> header).
/// - The old tables stay, renamed <c>legacy_events</c>, <c>legacy_streams</c>, <c>legacy_head</c>, read-only: the
///   chain of the migrated positions is the old "annotate-chain-v1" chain over their exact texts. Renaming also keeps
///   a server of the previous version from appending to a database that has moved on.
/// - Each migrated position gets its chain_links row with the OLD link (old receipts hold unchanged) and the digests
///   of what Marten stored; the chain head is the old head, so the first new link follows the last old one.
///   <see cref="AuditVerifier"/> checks migrated positions by the v1 algorithm over the legacy texts and that
///   Marten's rows still equal them.
/// - Each old request (events grouped by actor and request id) gets an <see cref="AppendRecord"/> under the key the
///   host derives, so a retry of an old request is answered with its original result.
/// - All of it commits in one transaction, under an advisory lock (replicas starting together import once; the
///   others find the old tables renamed) and the global-order lock (no append runs meanwhile). It runs when the old
///   <c>events</c> table exists; it refuses to start if Marten already holds events next to it.
/// </summary>
public static partial class LegacyImport
{
    public const string EventsTable = "legacy_events";
    public const string StreamsTable = "legacy_streams";
    public const string HeadTable = "legacy_head";

    /// <summary>
    /// The header carrying an old request id that differs from its correlation id (the previous server wrote both
    /// equal).
    /// </summary>
    public const string RequestIdHeader = "requestId";

    private const int PageSize = 2000;

    /// <summary>
    /// SQL predicate over a Marten event row (alias e) and its legacy row (alias l): the row Marten holds is the
    /// legacy event, field for field, with the metadata mapped as described on <see cref="LegacyImport"/>.
    /// </summary>
    internal const string SameEventSql = "e.data = l.data::jsonb AND " + SameEventExceptDataSql;

    /// <summary>
    /// <see cref="SameEventSql"/> but for the data: what a moved event whose data a recorded erasure replaced must still match
    /// (<see cref="Chain.Erasure"/>).
    /// </summary>
    internal const string SameEventExceptDataSql = """
        e.id = l.event_id AND e.stream_id = l.stream_id AND e.version = l.stream_version AND e.type = l.type
        AND e.timestamp = l.recorded_at
        AND e.user_name IS NOT DISTINCT FROM l.metadata->>'actor'
        AND e.correlation_id IS NOT DISTINCT FROM l.metadata->>'correlationId'
        AND e.causation_id IS NOT DISTINCT FROM l.metadata->>'causationId'
        AND e.headers->>'tag' IS NOT DISTINCT FROM l.metadata->>'articleId'
        AND coalesce(e.headers->>'requestId', e.correlation_id)
            IS NOT DISTINCT FROM coalesce(l.metadata->>'requestId', l.metadata->>'correlationId')
        """;

    /// <summary>
    /// Imports the previous version's events if the schema still has them; returns null when there is nothing to do.
    /// <paramref name="decode"/> turns a stored type name and data text into the event object Marten stores;
    /// <paramref name="idempotencyKey"/> gives the key the host uses for a request of (actor, request id).
    /// Run it after Marten has applied its schema and before anything appends.
    /// </summary>
    public static async Task<LegacyImportResult?> RunAsync(EventStoreOptions options, Func<string, string, object> decode,
        Func<string, string, string> idempotencyKey, ILogger logger, CancellationToken ct = default)
    {
        var schema = options.ValidatedSchema();
        var s = options.QuotedSchema;
        if (!await OldTablesExistAsync(options.DataSource, schema, ct).ConfigureAwait(false)) return null;

        var started = Stopwatch.GetTimestamp();
        await using var connection = await options.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (var locks = new NpgsqlBatch(connection, transaction))
        {
            var import = new NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1)");
            import.Parameters.AddWithValue(LockKey(schema));
            locks.BatchCommands.Add(import);
            locks.BatchCommands.Add(GlobalOrder.Take(schema));
            await locks.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        // Another replica may have imported while this one waited for the lock.
        if (!await OldTablesExistAsync(connection, transaction, schema, ct).ConfigureAwait(false)) return null;
        LogStarting(logger, schema);

        await using var session = options.Documents.LightweightSession(SessionOptions.ForTransaction(transaction));
        if (await session.Events.QueryAllRawEvents().Where(e => e.EventTypeName != "tombstone").AnyAsync(ct).ConfigureAwait(false))
        {
            throw new InvalidOperationException(
                $"Schema {schema} holds both the previous version's events table and events in Marten's tables; refusing to " +
                "import into a store that already has events. Restore the database from before the first start of this version.");
        }
        // Marten writes tombstone events (on a connection of its own) for the numbers of a save that failed, so an
        // import that failed earlier may have left them over the legacy positions, which belong to the imported events.
        await ExecuteAsync(connection, transaction, $"DELETE FROM {s}.mt_events WHERE type = 'tombstone'", ct).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"""
            ALTER TABLE {s}.events RENAME TO {EventsTable};
            ALTER TABLE {s}.streams RENAME TO {StreamsTable};
            ALTER TABLE {s}.head RENAME TO {HeadTable};
            """, ct).ConfigureAwait(false);

        long head;
        byte[] headLink;
        DateTime headRecordedAt;
        await using (var cmd = new NpgsqlCommand(
            $"SELECT last_position, last_hash, last_recorded_at FROM {s}.{HeadTable} WHERE id = 1", connection, transaction))
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            if (!await r.ReadAsync(ct).ConfigureAwait(false))
                throw new InvalidOperationException($"The previous version's head row is missing in {schema}.");
            (head, headLink, headRecordedAt) = (r.GetInt64(0), r.GetFieldValue<byte[]>(1), r.GetDateTime(2));
        }

        var requests = new RequestRecords(idempotencyKey);
        long imported = 0, after = 0, drawnThrough = -1;
        var sequence = $"{s}.mt_events_sequence";
        while (true)
        {
            var page = await ReadPageAsync(connection, transaction, s, after, ct).ConfigureAwait(false);
            if (page.Count == 0) break;
            foreach (var batch in Batches(page))
            {
                // Marten draws every event's number from its sequence, in append order, so the sequence is set to the
                // batch's first old position (unless the previous batch left it there): the batch's runs, appended in
                // position order, then draw exactly their old positions, checked against the stored rows before the
                // commit (ids included). Marten's bulk import that keeps given sequences (BulkInsertEventStreamAsync with
                // PreserveSourceSequence) commits on a connection and transaction of its own, so the events could not
                // commit together with the chain rows, the request records and the renaming: a crash in between would
                // leave a half-moved store. Nothing else draws from the sequence meanwhile: every appender holds the
                // global-order lock, and this transaction has it.
                if (batch[0][0].Position != drawnThrough + 1)
                {
                    await ExecuteAsync(connection, transaction, "SELECT setval($1::regclass, $2, false)", ct, sequence,
                        batch[0][0].Position).ConfigureAwait(false);
                }
                var appended = new List<(LegacyRow Row, IEvent Event)>();
                foreach (var run in batch)
                {
                    var events = run.Select(row => (row, Build(session, row, decode))).ToList();
                    session.Events.Append(run[0].StreamId, run[^1].StreamVersion, events.Select(x => x.Item2).ToArray());
                    appended.AddRange(events);
                }
                await session.SaveChangesAsync(ct).ConfigureAwait(false);
                foreach (var (row, e) in appended)
                {
                    if (e.Sequence != row.Position || e.Version != row.StreamVersion)
                    {
                        throw new InvalidOperationException(
                            $"Legacy event {row.Position} (stream {row.StreamId} version {row.StreamVersion}) was stored by Marten " +
                            $"at position {e.Sequence}, version {e.Version}.");
                    }
                }
                imported += appended.Count;
                drawnThrough = batch[^1][^1].Position;
            }
            foreach (var row in page) requests.Add(session, row);
            after = page[^1].Position;
        }
        requests.Flush(session);
        await session.SaveChangesAsync(ct).ConfigureAwait(false);

        // What Marten stored must be the legacy events, field for field; then the chain rows (old links, digests of
        // the rows as Marten stores them), the head, and the sequence past the last old position.
        var mismatch = await ScalarAsync<long?>(connection, transaction, $"""
            SELECT min(coalesce(l.position, e.seq_id)) FROM {s}.{EventsTable} l FULL JOIN {s}.mt_events e ON e.seq_id = l.position
            WHERE l.position IS NULL OR e.seq_id IS NULL OR NOT ({SameEventSql})
            """, ct).ConfigureAwait(false);
        if (mismatch is { } position)
        {
            throw new InvalidOperationException(
                $"Legacy event {position} differs from what Marten stored for it (id, stream, version, type, time, data as " +
                "jsonb or metadata); the import was rolled back.");
        }
        await ExecuteAsync(connection, transaction, $"""
            INSERT INTO {s}.{MartenConventions.ChainLinksTable} (position, data_digest, metadata_digest, link)
            SELECT e.seq_id, {EventChain.DataDigestSql}, {EventChain.MetadataDigestSql}, l.hash
            FROM {s}.{EventsTable} l JOIN {s}.mt_events e ON e.seq_id = l.position
            """, ct).ConfigureAwait(false);
        if (head > 0)
        {
            await ExecuteAsync(connection, transaction,
                $"INSERT INTO {s}.{MartenConventions.ChainHeadTable} (id, position, link, recorded_at) VALUES (1, $1, $2, $3)", ct,
                head, headLink, headRecordedAt).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction,
                $"SELECT setval($1::regclass, greatest($2, (SELECT last_value FROM {s}.mt_events_sequence)))", ct, sequence, head)
                .ConfigureAwait(false);
        }
        var streams = await ScalarAsync<long>(connection, transaction, $"SELECT count(*) FROM {s}.{StreamsTable}", ct)
            .ConfigureAwait(false);
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        var result = new LegacyImportResult(imported, streams, requests.Count, head, Stopwatch.GetElapsedTime(started));
        LogImported(logger, schema, result.Events, result.Streams, result.Requests, result.LastPosition,
            (long)result.Elapsed.TotalMilliseconds);
        return result;
    }

    private sealed record LegacyRow(long Position, string StreamId, long StreamVersion, Guid EventId, string Type, string Data,
        string Metadata, DateTime RecordedAt, byte[] Hash);

    private static async Task<List<LegacyRow>> ReadPageAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string s,
        long after, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand($"""
            SELECT position, stream_id, stream_version, event_id, type, data::text, metadata::text, recorded_at, hash
            FROM {s}.{EventsTable} WHERE position > $1 ORDER BY position LIMIT {PageSize}
            """, connection, transaction);
        cmd.Parameters.AddWithValue(after);
        var rows = new List<LegacyRow>(PageSize);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            rows.Add(new LegacyRow(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetGuid(3), r.GetString(4), r.GetString(5),
                r.GetString(6), DateTime.SpecifyKind(r.GetDateTime(7), DateTimeKind.Utc), r.GetFieldValue<byte[]>(8)));
        }
        return rows;
    }

    /// <summary>
    /// Splits a page (in position order) into batches of runs (consecutive events of one stream) such that one save
    /// draws the batch's positions in order: positions contiguous, and no stream twice in a batch (Marten appends a
    /// stream's events of one session together).
    /// </summary>
    private static IEnumerable<List<List<LegacyRow>>> Batches(List<LegacyRow> page)
    {
        var batch = new List<List<LegacyRow>>();
        var streams = new HashSet<string>(StringComparer.Ordinal);
        LegacyRow? previous = null;
        foreach (var row in page)
        {
            var sameRun = previous is not null && previous.StreamId == row.StreamId && previous.Position + 1 == row.Position;
            if (!sameRun)
            {
                if (previous is not null && (previous.Position + 1 != row.Position || streams.Contains(row.StreamId)))
                {
                    yield return batch;
                    batch = [];
                    streams.Clear();
                }
                batch.Add([]);
                streams.Add(row.StreamId);
            }
            batch[^1].Add(row);
            previous = row;
        }
        if (batch.Count > 0) yield return batch;
    }

    private static IEvent Build(IDocumentSession session, LegacyRow row, Func<string, string, object> decode)
    {
        object data;
        try
        {
            data = decode(row.Type, row.Data);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or NotSupportedException)
        {
            throw new InvalidOperationException(
                $"Legacy event {row.Position} ({row.Type}) cannot be read by this version ({ex.Message}); nothing was imported.", ex);
        }
        var e = session.Events.BuildEvent(data);
        e.Id = row.EventId;
        // The position it will be stored at (checked against the stored row before the commit): the inline projections see it.
        e.Sequence = row.Position;
        e.Timestamp = new DateTimeOffset(row.RecordedAt);
        using var metadata = JsonDocument.Parse(row.Metadata);
        var m = metadata.RootElement;
        e.UserName = Text(m, "actor");
        e.CorrelationId = Text(m, "correlationId");
        e.CausationId = Text(m, "causationId");
        if (Text(m, "articleId") is { } tag) e.SetHeader(EventMetadata.TagHeader, tag);
        if (Text(m, "requestId") is { } requestId && requestId != e.CorrelationId) e.SetHeader(RequestIdHeader, requestId);
        return e;
    }

    private static string? Text(JsonElement metadata, string name) =>
        metadata.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// One <see cref="AppendRecord"/> per old request: its events are consecutive (the previous writer appended one
    /// request at once), and its result is its last event's, as the previous server answered a retry.
    /// </summary>
    private sealed class RequestRecords(Func<string, string, string> idempotencyKey)
    {
        private AppendRecord? _current;

        public long Count { get; private set; }

        public void Add(IDocumentSession session, LegacyRow row)
        {
            using var metadata = JsonDocument.Parse(row.Metadata);
            var actor = Text(metadata.RootElement, "actor");
            var requestId = Text(metadata.RootElement, "requestId") ?? Text(metadata.RootElement, "correlationId");
            if (actor is null || requestId is null)
            {
                Flush(session);
                return;
            }
            var key = idempotencyKey(actor, requestId);
            if (_current?.Id != key) Flush(session);
            _current ??= new AppendRecord { Id = key, FirstPosition = row.Position };
            _current.StreamId = row.StreamId;
            _current.StreamVersion = row.StreamVersion;
            _current.LastPosition = row.Position;
            _current.RecordedAt = row.RecordedAt;
        }

        public void Flush(IDocumentSession session)
        {
            if (_current is null) return;
            session.Store(_current);
            Count++;
            _current = null;
        }
    }

    private static async Task<bool> OldTablesExistAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        return await OldTablesExistAsync(connection, null, schema, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether the old events table is there, read from pg_class with the statement's snapshot: a name lookup
    /// (to_regclass) may use a catalog cache that an advisory lock does not refresh, and miss a rename another replica
    /// committed while this one waited.
    /// </summary>
    private static Task<bool> OldTablesExistAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string schema,
        CancellationToken ct) =>
        ScalarAsync<bool>(connection, transaction,
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " +
            "WHERE n.nspname = $1 AND c.relname = 'events' AND c.relkind IN ('r', 'p'))", ct, schema);

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql,
        CancellationToken ct, params object[] parameters)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, transaction);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        var value = await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false);
        return value is DBNull or null ? default! : (T)value;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct,
        params object[] parameters)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, transaction);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Advisory lock key of the import, per schema.</summary>
    private static long LockKey(string schema) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("annotate-legacy-import:" + schema)), 0);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schema {Schema} holds events of the previous version: importing them into Marten")]
    private static partial void LogStarting(ILogger logger, string schema);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Schema {Schema}: imported {Events} events of {Streams} streams and {Requests} request records into Marten " +
                  "through position {LastPosition} in {ElapsedMs} ms; the previous tables remain as legacy_events, legacy_streams " +
                  "and legacy_head")]
    private static partial void LogImported(ILogger logger, string schema, long events, long streams, long requests, long lastPosition,
        long elapsedMs);
}
