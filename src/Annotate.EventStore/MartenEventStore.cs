using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using Annotate.EventStore.Chain;
using Annotate.EventStore.Legacy;
using Annotate.EventStore.Live;
using JasperFx.Events;
using Marten;
using Marten.Services;
using Marten.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Annotate.EventStore;

/// <summary>
/// The event store on Marten. Marten owns the events, streams, documents and the schema; this type adds what the
/// product needs on top: every append goes through the <see cref="GroupCommitWriter"/> (global order, group commit,
/// synchronous receipts), the audit chain, and the live hub (one LISTEN per process, fan-out in order).
/// One instance per process and schema. The schema must exist (Marten applies it at start-up).
/// </summary>
public sealed class MartenEventStore : IEventStore
{
    private readonly EventStoreOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly IDocumentStore _documents;
    private readonly string _s;
    private readonly GroupCommitWriter _writer;
    private readonly SubscriptionHub _hub;
    /// <summary>The store this one is a read view of (<see cref="ReadingFrom"/>), or null for the store itself.</summary>
    private readonly MartenEventStore? _primary;
    /// <summary>Marten's database object for the copy a read view reads (sessions on it open their connections there).</summary>
    private readonly MartenDatabase? _copy;
    private int _disposed;

    public MartenEventStore(EventStoreOptions options, ILoggerFactory? loggerFactory = null)
    {
        _options = options;
        _s = options.QuotedSchema;
        _dataSource = options.DataSource;
        _documents = options.Documents;
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MartenEventStore>();
        _hub = new SubscriptionHub(this, logger);
        // Marten maps an event type it has not been told about on first use, under a name derived from the CLR type's
        // name. Stored names are the log's contract, so the store accepts only the types the host mapped: the event
        // graph as configured when the store is built.
        var mapped = _documents.Options.Events.AllKnownEventTypes().Select(t => t.EventType).ToFrozenSet();
        _writer = new GroupCommitWriter(options, logger, _hub, mapped);
    }

    /// <summary>
    /// A view of this store whose reads (head, pages, streams, documents, verification, chain export) go to
    /// <paramref name="copy"/>, a physical copy of the same database such as a streaming replica. Appends go to this
    /// store's writer and subscriptions to its live hub, both on the primary: a hot standby refuses writes and LISTEN.
    /// A copy lags: its head is the position it has replayed, and everything it answers is consistent up to that head
    /// (a replica replays whole transactions in commit order). Disposing the view leaves this store running.
    /// </summary>
    public MartenEventStore ReadingFrom(NpgsqlDataSource copy) => new(this, copy);

    private MartenEventStore(MartenEventStore primary, NpgsqlDataSource copy)
    {
        _primary = primary;
        _options = primary._options;
        _s = primary._s;
        _dataSource = copy;
        _documents = primary._documents;
        _copy = new MartenDatabase((StoreOptions)_documents.Options, copy, "read-copy");
        _writer = primary._writer;
        _hub = primary._hub;
    }

    /// <summary>
    /// A Marten query session on this store's database: the copy's for a read view (Marten's session for a given database,
    /// whose connections come from the copy's data source), Marten's own otherwise.
    /// </summary>
    public IQuerySession QuerySession() =>
        _copy is null ? _documents.QuerySession() : _documents.QuerySession(SessionOptions.ForDatabase(_copy));

    /// <summary>
    /// Where the live hub reads its pages (<see cref="IReadSource"/>); null: this store's database. A host with a copy of
    /// the database sets it before the first subscription. Commands, LISTEN and the hub's start-up head stay here.
    /// </summary>
    public IReadSource? CatchUpReads { get; set; }

    internal EventStoreOptions Options => _options;
    internal NpgsqlDataSource DataSource => _dataSource;
    internal string Schema => _s;

    /// <summary>The Marten document store the events live in (for documents and projections of the host).</summary>
    public IDocumentStore Documents => _documents;

    /// <summary>Counters of the group-commit writer (for benchmarks and diagnostics).</summary>
    public WriterStatistics Statistics => _writer.Statistics;

    /// <summary>
    /// Drops the writer's kept decision states (<see cref="Decision{TState}"/>): they hold event data, so after stored data
    /// was rewritten (an erasure's masking) the next batch folds the streams again from what is stored. This process only.
    /// </summary>
    public void ForgetKeptStates() => _writer.ForgetKeptStates();

    public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events,
        string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _writer.AppendAsync(streamId, expected, events, idempotencyKey, cancellationToken);
    }

    /// <summary>
    /// Takes <paramref name="decision"/> inside the writer's batch, under the global-order lock, on the stream's state as
    /// it stands there (see <see cref="Decision{TState}"/>), and appends what it decides in the batch's transaction. A
    /// retried idempotency key answers the original append; a refusal (the exception <c>Decide</c> threw), a broken
    /// <see cref="Decision{TState}.Guard"/> (<see cref="StreamGuardException"/>) or a key used for another stream fails
    /// this decision alone. Connection loss: as <see cref="AppendAsync"/>.
    /// </summary>
    public Task<AppendResult> DecideAsync<TState>(Decision<TState> decision, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _writer.DecideAsync(decision, cancellationToken);
    }

    public async Task<AppendResult?> FindAppendAsync(string idempotencyKey, CancellationToken cancellationToken = default)
    {
        AppendRecord? record;
        await using (var session = QuerySession())
            record = await session.LoadAsync<AppendRecord>(idempotencyKey, cancellationToken).ConfigureAwait(false);
        if (record is null) return null;
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var links = await LinksAsync(connection, null, _s, [record.LastPosition], cancellationToken).ConfigureAwait(false);
        return record.ToResult(Convert.ToHexStringLower(links[record.LastPosition]));
    }

    public async Task<long> GetHeadPositionAsync(CancellationToken cancellationToken = default)
    {
        await using var cmd = _dataSource.CreateCommand($"SELECT position FROM {_s}.{MartenConventions.ChainHeadTable} WHERE id = 1");
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long p ? p : 0;
    }

    public async Task<long> GetStreamVersionAsync(string streamId, CancellationToken cancellationToken = default)
    {
        await using var session = QuerySession();
        return (await session.Events.FetchStreamStateAsync(streamId, cancellationToken).ConfigureAwait(false))?.Version ?? 0;
    }

    public async Task<long> GetPositionAtAsync(DateTime time, CancellationToken cancellationToken = default)
    {
        var bound = new DateTimeOffset(time.ToUniversalTime());
        await using var session = QuerySession();
        var positions = await session.Events.QueryAllRawEvents()
            .Where(e => e.Timestamp <= bound)
            .OrderByDescending(e => e.Sequence)
            .Select(e => e.Sequence)
            .Take(1)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return positions.Count > 0 ? Math.Min(positions[0], await GetHeadPositionAsync(cancellationToken).ConfigureAwait(false)) : 0;
    }

    public async IAsyncEnumerable<RecordedEvent> ReadStreamAsync(string streamId, long fromVersion = 1,
        ReadDirection direction = ReadDirection.Forwards, long maxCount = long.MaxValue,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var forwards = direction == ReadDirection.Forwards;
        var next = fromVersion;
        var remaining = maxCount;
        while (remaining > 0)
        {
            var page = (int)Math.Min(remaining, _options.ReadPageSize);
            IReadOnlyList<IEvent> events;
            await using (var session = QuerySession())
            {
                var query = session.Events.QueryAllRawEvents().Where(e => e.StreamKey == streamId);
                events = forwards
                    ? await query.Where(e => e.Version >= next).OrderBy(e => e.Version).Take(page).ToListAsync(cancellationToken)
                        .ConfigureAwait(false)
                    : await query.Where(e => e.Version <= next).OrderByDescending(e => e.Version).Take(page).ToListAsync(cancellationToken)
                        .ConfigureAwait(false);
            }
            foreach (var e in await WithLinksAsync(events, cancellationToken).ConfigureAwait(false))
            {
                next = forwards ? e.StreamVersion + 1 : e.StreamVersion - 1;
                yield return e;
            }
            remaining -= events.Count;
            if (events.Count < page) yield break;
        }
    }

    /// <summary>
    /// A stream's events for a decision (data, version, position) in one query, without chain links: what a command
    /// folds before it appends (tombstones of failed saves live in a stream of their own, so none is among them).
    /// </summary>
    public async Task<IReadOnlyList<StreamEvent>> FetchStreamAsync(string streamId, CancellationToken cancellationToken = default)
    {
        await using var session = QuerySession();
        var events = await session.Events.FetchStreamAsync(streamId, token: cancellationToken).ConfigureAwait(false);
        return events.Select(e => new StreamEvent(e.Sequence, e.Version, e.Data)).ToList();
    }

    public async IAsyncEnumerable<RecordedEvent> ReadAllAsync(long fromPositionExclusive = 0, EventFilter? filter = null,
        long maxCount = long.MaxValue, long toPositionInclusive = long.MaxValue, DateTime? toRecordedAt = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var bound = toPositionInclusive;
        // Recorded times are non-decreasing along positions, so a time bound is a position bound.
        if (toRecordedAt is { } t) bound = Math.Min(bound, await GetPositionAtAsync(t, cancellationToken).ConfigureAwait(false));
        var pos = fromPositionExclusive;
        var remaining = maxCount;
        while (remaining > 0 && pos < bound)
        {
            var page = (int)Math.Min(remaining, _options.ReadPageSize);
            var (events, through, _) = await ReadPageAsync(pos, filter, page, bound, cancellationToken).ConfigureAwait(false);
            foreach (var e in events) yield return e;
            remaining -= events.Count;
            if (through <= pos) yield break; // reached the head
            pos = through;
        }
    }

    /// <summary>
    /// One page of the global order after <paramref name="after"/>: the matching events in (after, Through], in order,
    /// at most <paramref name="limit"/>, and the head read first. Every position up to the head is committed or was
    /// rolled back for good (<see cref="Order.GlobalOrder"/>), so a page bounded by the head never misses a late
    /// lower position. Through &lt;= after means the head has been reached.
    /// </summary>
    internal async Task<(List<RecordedEvent> Events, long Through, long Head)> ReadPageAsync(long after, EventFilter? filter, int limit,
        long toPosition = long.MaxValue, CancellationToken ct = default)
    {
        var head = await GetHeadPositionAsync(ct).ConfigureAwait(false);
        var filtered = filter is { IsEmpty: false };
        // Filtered pages scan a wider window, since only some rows match; the tag is matched in memory.
        long window = filtered ? Math.Max(limit, 4L * _options.ReadPageSize) : limit;
        var windowEnd = Math.Min(Math.Min(toPosition, head), after > long.MaxValue - window ? long.MaxValue : after + window);
        if (windowEnd <= after) return ([], after, head);
        IReadOnlyList<IEvent> rows;
        await using (var session = QuerySession())
        {
            var query = session.Events.QueryAllRawEvents().Where(e => e.Sequence > after && e.Sequence <= windowEnd);
            if (filter?.Types is { Count: > 0 } types)
            {
                var names = types.ToArray();
                query = query.Where(e => names.Contains(e.EventTypeName));
            }
            if (!string.IsNullOrEmpty(filter?.StreamPrefix))
            {
                var prefix = filter.StreamPrefix;
                query = query.Where(e => e.StreamKey!.StartsWith(prefix));
            }
            var take = filter?.Tag is null ? limit : (int)Math.Min(int.MaxValue, window);
            rows = await query.OrderBy(e => e.Sequence).Take(take).ToListAsync(ct).ConfigureAwait(false);
        }
        var linked = await WithLinksAsync(rows, ct).ConfigureAwait(false);
        var events = new List<RecordedEvent>(Math.Min(limit, linked.Count));
        long through = windowEnd;
        foreach (var e in linked)
        {
            if (filter?.Tag is not null && e.Metadata.Tag != filter.Tag) continue;
            events.Add(e);
            if (events.Count == limit)
            {
                through = e.Position;
                break;
            }
        }
        if (events.Count < limit && rows.Count == (filter?.Tag is null ? limit : window)) through = rows[^1].Sequence;
        return (events, through, head);
    }

    /// <summary>
    /// The events with their chain links, in the given order. An event without a link was not committed by the writer
    /// (a tombstone Marten writes for numbers of a failed save, or a row planted by hand, which verification reports):
    /// it is not part of the log and is left out.
    /// </summary>
    private async Task<List<RecordedEvent>> WithLinksAsync(IReadOnlyList<IEvent> events, CancellationToken ct)
    {
        var result = new List<RecordedEvent>(events.Count);
        if (events.Count == 0) return result;
        Dictionary<long, byte[]> links;
        await using (var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false))
            links = await LinksAsync(connection, null, _s, events.Select(e => e.Sequence), ct).ConfigureAwait(false);
        foreach (var e in events)
        {
            if (!links.TryGetValue(e.Sequence, out var link)) continue;
            result.Add(new RecordedEvent(e.Sequence, e.StreamKey!, e.Version, e.Id, e.EventTypeName, e.Data, MetadataOf(e),
                e.Timestamp.UtcDateTime, link));
        }
        return result;
    }

    /// <summary>The chain links of some positions.</summary>
    internal static async Task<Dictionary<long, byte[]>> LinksAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction? transaction,
        string schema,
        IEnumerable<long> positions,
        CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"SELECT position, link FROM {schema}.{MartenConventions.ChainLinksTable} WHERE position = ANY($1)",
            connection,
            transaction);
        cmd.Parameters.Add(new NpgsqlParameter { Value = positions.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        var links = new Dictionary<long, byte[]>();
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false)) links[r.GetInt64(0)] = r.GetFieldValue<byte[]>(1);
        return links;
    }

    internal static EventMetadata MetadataOf(IEvent e) =>
        new(e.UserName, e.CorrelationId, e.CausationId,
            e.Headers is { } headers && headers.TryGetValue(EventMetadata.TagHeader, out var tag) ? tag?.ToString() : null);

    public async IAsyncEnumerable<SubscriptionMessage> SubscribeAsync(long fromPositionExclusive = 0, EventFilter? filter = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var batch in SubscribeBatchesAsync(fromPositionExclusive, filter, cancellationToken).ConfigureAwait(false))
        {
            if (batch.Messages is { } shared)
                foreach (var m in shared) yield return m;
            else
                foreach (var e in batch.Events) yield return new SubscriptionMessage.Event(e);
            if (batch.CaughtUp) yield return new SubscriptionMessage.CaughtUp(batch.Through);
        }
    }

    public IAsyncEnumerable<SubscriptionBatch> SubscribeInBatchesAsync(long fromPositionExclusive = 0, EventFilter? filter = null,
        CancellationToken cancellationToken = default) =>
        SubscribeBatchesAsync(fromPositionExclusive, filter, cancellationToken);

    /// <summary>Subscription in batches, with the position each batch has been checked through (filtered or not).</summary>
    internal IAsyncEnumerable<SubscriptionBatch> SubscribeBatchesAsync(
        long fromPositionExclusive,
        EventFilter? filter,
        CancellationToken ct,
        int? catchUpPageSize = null) =>
        SubscriptionLag.Track(
            _hub.SubscribeAsync(
                fromPositionExclusive,
                filter is { IsEmpty: false } ? filter : null,
                catchUpPageSize ?? _options.SubscriberPageSize,
                ct),
            fromPositionExclusive, ct);

    public Task<VerifyReport> VerifyAsync(IEnumerable<Receipt>? receipts = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default) =>
        AuditVerifier.VerifyAsync(_dataSource, _s, _options.ReadPageSize, receipts, progress, cancellationToken, _options.ErasureEventType);

    /// <summary>
    /// Imports a database written by the store's previous version, once (<see cref="LegacyImport"/>); null when the
    /// schema holds none. Call it before anything appends.
    /// </summary>
    public Task<LegacyImportResult?> ImportLegacyAsync(Func<string, string, object> decode, Func<string, string, string> idempotencyKey,
        ILogger logger, CancellationToken cancellationToken = default) =>
        LegacyImport.RunAsync(_options, decode, idempotencyKey, logger, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_primary is not null || Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _hub.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>An event of a stream as a decision folds it.</summary>
public sealed record StreamEvent(long Position, long Version, object Data);

/// <summary>
/// A step of a subscription in batches: <paramref name="Events"/> (matching the filter, in position order, possibly
/// none) and the position the subscription has been checked <paramref name="Through"/>. <paramref name="CaughtUp"/>
/// marks the moment it reached the live tail (that batch carries no events).
/// </summary>
public sealed record SubscriptionBatch(IReadOnlyList<RecordedEvent> Events, long Through, bool CaughtUp)
{
    /// <summary>The events as subscription messages when the hub already made them (shared by all its subscribers).</summary>
    internal IReadOnlyList<SubscriptionMessage.Event>? Messages { get; init; }
}
