using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace Annotate.EventStore;

/// <summary>
/// The PostgreSQL event store. One instance per process (per schema): it owns the group-commit writer loop,
/// and, once someone subscribes, one LISTEN connection and the in-memory fan-out to subscribers.
/// Call <see cref="EventStoreSchema.MigrateAsync"/> before first use.
/// </summary>
public sealed partial class PostgresEventStore : IEventStore
{
    private readonly EventStoreOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly ILogger _logger;
    private readonly string _s;
    // Not SingleReader: that implementation cannot report Count, which the writer's gather delay reads.
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _writer;
    private readonly SubscriptionHub _hub;
    private int _disposed;

    public PostgresEventStore(EventStoreOptions options, ILoggerFactory? loggerFactory = null)
    {
        _options = options;
        _s = options.QuotedSchema;
        (_dataSource, _ownsDataSource) = options.OpenDataSource();
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<PostgresEventStore>();
        _hub = new SubscriptionHub(this, _logger);
        _writer = Task.Run(WriterLoopAsync);
    }

    internal EventStoreOptions Options => _options;
    internal NpgsqlDataSource DataSource => _dataSource;
    internal string Schema => _s;
    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>Counters of the group-commit writer (for benchmarks and diagnostics).</summary>
    public WriterStatistics Statistics { get; } = new();

    public async Task<long> GetHeadPositionAsync(CancellationToken cancellationToken = default)
    {
        await using var cmd = _dataSource.CreateCommand($"SELECT last_position FROM {_s}.head WHERE id = 1");
        return (long)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    public async Task<long> GetStreamVersionAsync(string streamId, CancellationToken cancellationToken = default)
    {
        await using var cmd = _dataSource.CreateCommand($"SELECT version FROM {_s}.streams WHERE stream_id = $1");
        cmd.Parameters.AddWithValue(streamId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long v ? v : 0;
    }

    private const string Columns = "position, stream_id, stream_version, event_id, type, data::text, metadata::text, recorded_at, hash";

    internal static RecordedEvent ReadEvent(NpgsqlDataReader r, int o = 0) => new(
        r.GetInt64(o), r.GetString(o + 1), r.GetInt64(o + 2), r.GetGuid(o + 3), r.GetString(o + 4),
        r.GetString(o + 5), r.GetString(o + 6), r.GetDateTime(o + 7), r.GetFieldValue<byte[]>(o + 8));

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
            await using var cmd = _dataSource.CreateCommand(forwards
                ? $"SELECT {Columns} FROM {_s}.events WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3"
                : $"SELECT {Columns} FROM {_s}.events WHERE stream_id = $1 AND stream_version <= $2 ORDER BY stream_version DESC LIMIT $3");
            cmd.Parameters.AddWithValue(streamId);
            cmd.Parameters.AddWithValue(next);
            cmd.Parameters.AddWithValue(page);
            var count = 0;
            await using (var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var e = ReadEvent(r);
                    count++;
                    next = forwards ? e.StreamVersion + 1 : e.StreamVersion - 1;
                    yield return e;
                }
            }
            remaining -= count;
            if (count < page) yield break;
        }
    }

    public async IAsyncEnumerable<RecordedEvent> ReadAllAsync(long fromPositionExclusive = 0, EventFilter? filter = null,
        long maxCount = long.MaxValue, long toPositionInclusive = long.MaxValue, DateTime? toRecordedAt = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var bound = toPositionInclusive;
        // recorded_at is non-decreasing along positions, so a time bound is a position bound.
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

    public async Task<long> GetPositionAtAsync(DateTime time, CancellationToken ct = default)
    {
        await using var cmd = _dataSource.CreateCommand(
            $"SELECT position FROM {_s}.events WHERE recorded_at <= $1 ORDER BY recorded_at DESC, position DESC LIMIT 1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = time.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false) is long p ? p : 0;
    }

    /// <summary>
    /// One page of the global order after <paramref name="after"/>: the matching events in (after, Through], in
    /// order, at most <paramref name="limit"/>, and the head seen by the same snapshot. Positions have no gaps
    /// and commit in order, so everything up to that head is visible and a page can be bounded by position
    /// range (after, after + window]: the query touches at most one window of rows whatever the table's size
    /// or statistics. Through &lt;= after means the head has been reached.
    /// </summary>
    internal async Task<(List<RecordedEvent> Events, long Through, long Head)> ReadPageAsync(long after, EventFilter? filter, int limit,
        long toPosition = long.MaxValue, CancellationToken ct = default)
    {
        var filtered = filter is { IsEmpty: false };
        // Filtered pages scan a wider window, since only some rows match.
        long window = filtered ? Math.Max(limit, 4L * _options.ReadPageSize) : limit;
        var windowEnd = Math.Min(toPosition, after > long.MaxValue - window ? long.MaxValue : after + window);
        var where = "e.position > $1 AND e.position <= h.last_position AND e.position <= $3";
        await using var cmd = _dataSource.CreateCommand();
        cmd.Parameters.AddWithValue(after);
        cmd.Parameters.AddWithValue(limit);
        cmd.Parameters.AddWithValue(windowEnd);
        if (filtered)
        {
            if (filter!.Types is { Count: > 0 } types)
            {
                cmd.Parameters.Add(new NpgsqlParameter { Value = types.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                where += $" AND e.type = ANY(${cmd.Parameters.Count})";
            }
            if (!string.IsNullOrEmpty(filter.StreamPrefix))
            {
                cmd.Parameters.AddWithValue(filter.StreamPrefix);
                where += $" AND starts_with(e.stream_id, ${cmd.Parameters.Count})";
            }
            if (filter.ArticleId is not null)
            {
                cmd.Parameters.AddWithValue(filter.ArticleId);
                where += $" AND e.article_id = ${cmd.Parameters.Count}";
            }
        }
        // One statement, one snapshot: the head and the rows agree.
        cmd.CommandText = $"""
            SELECT h.last_position, e.* FROM {_s}.head h
            LEFT JOIN LATERAL (
                SELECT e.position, e.stream_id, e.stream_version, e.event_id, e.type, e.data::text, e.metadata::text, e.recorded_at, e.hash
                FROM {_s}.events e WHERE {where} ORDER BY e.position LIMIT $2) e ON true
            WHERE h.id = 1
            """;
        var events = new List<RecordedEvent>(Math.Min(limit, 1024));
        long head = 0;
        await using (var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false))
            {
                head = r.GetInt64(0);
                if (!r.IsDBNull(1)) events.Add(ReadEvent(r, 1));
            }
        }
        var through = events.Count == limit ? events[^1].Position : Math.Max(after, Math.Min(windowEnd, head));
        return (events, through, head);
    }

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
        _hub.SubscribeAsync(
            fromPositionExclusive,
            filter is { IsEmpty: false } ? filter : null,
            catchUpPageSize ?? _options.ReadPageSize,
            ct);

    public Task<VerifyReport> VerifyAsync(IEnumerable<Receipt>? receipts = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default) =>
        AuditVerifier.VerifyAsync(_dataSource, _s, _options.ReadPageSize, receipts, progress, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        try { await _writer.ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _hub.DisposeAsync().ConfigureAwait(false);
        if (_ownsDataSource) await _dataSource.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Append batch of {Appends} appends failed on attempt {Attempt}; retrying")]
    private static partial void LogBatchRetry(ILogger logger, int appends, int attempt, Exception exception);
}

/// <summary>Counters of the group-commit writer.</summary>
public sealed class WriterStatistics
{
    private long _commits;
    private long _events;
    private long _lockAndReadTicks;
    private long _writeAndCommitTicks;

    public long Commits => Interlocked.Read(ref _commits);
    public long Events => Interlocked.Read(ref _events);
    /// <summary>Time spent taking the head lock and reading versions (first round trip), summed over commits.</summary>
    public TimeSpan LockAndRead => System.Diagnostics.Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _lockAndReadTicks));
    /// <summary>Time spent inserting and committing (second round trip, includes the WAL flush), summed over commits.</summary>
    public TimeSpan WriteAndCommit => System.Diagnostics.Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _writeAndCommitTicks));

    internal void Add(int events, long lockAndReadTicks, long writeAndCommitTicks)
    {
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _events, events);
        Interlocked.Add(ref _lockAndReadTicks, lockAndReadTicks);
        Interlocked.Add(ref _writeAndCommitTicks, writeAndCommitTicks);
    }
}

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
