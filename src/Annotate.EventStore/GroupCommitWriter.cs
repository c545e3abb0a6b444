using System.Collections.Frozen;
using System.Diagnostics;
using System.Threading.Channels;
using Annotate.EventStore.Chain;
using Annotate.EventStore.Order;
using JasperFx.Events;
using Marten;
using Marten.Services;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Annotate.EventStore;

/// <summary>
/// The one appender of the store. Concurrent appends queue here; one loop takes what is queued and carries it out
/// as one Marten session on one transaction (group commit):
/// 1. the global-order lock (<see cref="GlobalOrder"/>) and the database clock;
/// 2. one Marten batch query: the records of the idempotency keys and the state of every stream touched;
/// 3. per append, a decision against that state plus what earlier appends of the same batch wrote: a retry
///    (its record exists) gets its original result, a wrong expected version is refused, the rest are appended;
/// 4. <c>SaveChangesAsync</c> (Rich mode: Marten draws the positions and runs the inline projections);
/// 5. the audit chain: digests of what was stored, links from the previous head, the idempotency records, the
///    head row and one NOTIFY, then the commit. Every caller's answer carries its receipt.
/// A refused append does not stop the others. A batch that loses its connection before COMMIT is run again; one that
/// loses it after COMMIT was sent may be committed: its keyed appends are run again (their records answer with what
/// was committed) and its appends without a key fail with the connection error (outcome unknown to the caller too).
/// </summary>
internal sealed partial class GroupCommitWriter : IAsyncDisposable
{
    private sealed class PendingAppend(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events, string? key)
    {
        public readonly string StreamId = streamId;
        public readonly ExpectedVersion Expected = expected;
        public readonly IReadOnlyList<EventData> Events = events;
        public readonly string? Key = key;
        public readonly TaskCompletionSource<AppendResult> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>0 queued, 1 taken by the writer, 2 cancelled before being taken.</summary>
        public int State;
        public IEvent[]? Appended;
    }

    private readonly EventStoreOptions _options;
    private readonly ILogger _logger;
    private readonly Action<List<RecordedEvent>> _onCommit;
    private readonly string _s;
    // Not SingleReader: that implementation cannot report Count, which the gather delay reads.
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    private readonly FrozenSet<Type> _mappedTypes;
    /// <summary>Whether the batch running now got as far as sending COMMIT (only the writer loop touches it).</summary>
    private bool _commitSent;

    public GroupCommitWriter(EventStoreOptions options, ILogger logger, Action<List<RecordedEvent>> onCommit, FrozenSet<Type> mappedTypes)
    {
        _mappedTypes = mappedTypes;
        _options = options;
        _logger = logger;
        _onCommit = onCommit;
        _s = options.QuotedSchema;
        _loop = Task.Run(LoopAsync);
    }

    public WriterStatistics Statistics { get; } = new();

    public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events, string? key,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) throw new ArgumentException("An append needs at least one event.", nameof(events));
        foreach (var e in events)
        {
            ArgumentNullException.ThrowIfNull(e.Data, nameof(events));
            if (!_mappedTypes.Contains(e.Data.GetType()))
            {
                throw new ArgumentException($"The event type {e.Data.GetType().FullName} is not mapped in the event graph.",
                    nameof(events));
            }
            if (e.EventId == Guid.Empty) throw new ArgumentException("Event ids must not be empty.", nameof(events));
        }
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingAppend(streamId, expected, events, key);
        if (cancellationToken.CanBeCanceled)
        {
            // Cancellation withdraws an append only while it is still queued; once taken, it completes normally.
            var registration = cancellationToken.Register(static state =>
            {
                var (p, token) = ((PendingAppend, CancellationToken))state!;
                if (Interlocked.CompareExchange(ref p.State, 2, 0) == 0) p.Completion.TrySetCanceled(token);
            }, (pending, cancellationToken));
            pending.Completion.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(MartenEventStore));
        return pending.Completion.Task;
    }

    private async Task LoopAsync()
    {
        var batch = new List<PendingAppend>();
        var carry = new List<PendingAppend>();
        var reader = _queue.Reader;
        var previousAppends = 0;
        while (carry.Count > 0 || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            if (_options.GatherDelay > TimeSpan.Zero && reader.CanCount && reader.Count + carry.Count < previousAppends)
                await Task.Delay(_options.GatherDelay).ConfigureAwait(false);
            batch.Clear();
            batch.AddRange(carry);
            carry.Clear();
            var count = batch.Sum(p => p.Events.Count);
            while (count < _options.MaxBatchEvents && reader.TryRead(out var p))
            {
                if (Interlocked.CompareExchange(ref p.State, 1, 0) != 0) continue; // cancelled while queued
                batch.Add(p);
                count += p.Events.Count;
            }
            if (batch.Count == 0) continue;
            previousAppends = batch.Count;
            await ProcessBatchAsync(batch, carry).ConfigureAwait(false);
        }
    }

    /// <summary>Runs one batch to an outcome for each append; never throws. Appends to decide again go to <paramref name="carry"/>.</summary>
    private async Task ProcessBatchAsync(List<PendingAppend> batch, List<PendingAppend> carry)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var outcome = await ExecuteBatchAsync(batch).ConfigureAwait(false);
                foreach (var (p, result, error) in outcome.Results)
                {
                    if (result is not null) p.Completion.TrySetResult(result);
                    else if (error is not null) p.Completion.TrySetException(error);
                    else carry.Add(p);
                }
                if (outcome.Committed.Count > 0) _onCommit(outcome.Committed);
                return;
            }
            catch (Exception ex) when (attempt < 3 && Failures.IsConnectionLoss(ex) && !_stopping.IsCancellationRequested)
            {
                LogBatchRetry(_logger, batch.Count, attempt, ex);
                if (_commitSent)
                {
                    // The connection died after COMMIT was sent: the batch may be committed. A keyed append is retried
                    // (its record answers the retry with the original result); an append without a key cannot be told
                    // apart from a new one, so its caller gets the error, which says the outcome is unknown.
                    foreach (var p in batch.Where(p => p.Key is null)) p.Completion.TrySetException(ex);
                    batch = batch.Where(p => p.Key is not null).ToList();
                    if (batch.Count == 0) return;
                }
                // Otherwise nothing was committed and the whole batch is simply run again.
            }
            catch (Exception ex) when (batch.Count > 1 && !Failures.IsConnectionLoss(ex))
            {
                // Something one append can cause (e.g. an event its projection cannot store): isolate it by running
                // each append in a transaction of its own, so only that one fails.
                foreach (var p in batch) await ProcessBatchAsync([p], carry).ConfigureAwait(false);
                return;
            }
            catch (Exception ex)
            {
                foreach (var p in batch) p.Completion.TrySetException(ex);
                return;
            }
        }
    }

    private sealed record BatchOutcome(List<(PendingAppend, AppendResult?, Exception?)> Results, List<RecordedEvent> Committed);

    private async Task<BatchOutcome> ExecuteBatchAsync(List<PendingAppend> batch)
    {
        var ct = _stopping.Token;
        _commitSent = false;
        var t0 = Stopwatch.GetTimestamp();
        await using var connection = await _options.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);

        // 1. The global-order lock first, then (once granted) the clock and the chain's head.
        DateTime recordedAt;
        long headPosition;
        byte[] previous;
        await using (var first = new NpgsqlBatch(connection, transaction))
        {
            first.BatchCommands.Add(GlobalOrder.Take(_options.ValidatedSchema()));
            first.BatchCommands.Add(new NpgsqlBatchCommand(
                $"SELECT clock_timestamp(), h.position, h.link, h.recorded_at FROM (SELECT 1) o LEFT JOIN {_s}.{MartenConventions.ChainHeadTable} h ON h.id = 1"));
            await using var r = await first.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await r.NextResultAsync(ct).ConfigureAwait(false);
            await r.ReadAsync(ct).ConfigureAwait(false);
            var clock = r.GetDateTime(0);
            headPosition = r.IsDBNull(1) ? 0 : r.GetInt64(1);
            previous = r.IsDBNull(2) ? EventChain.Genesis.ToArray() : r.GetFieldValue<byte[]>(2);
            var lastRecordedAt = r.IsDBNull(3) ? DateTime.MinValue : r.GetDateTime(3);
            // Recorded times never go backwards along the order, even if the database clock does.
            recordedAt = DateTime.SpecifyKind(clock > lastRecordedAt ? clock : lastRecordedAt, DateTimeKind.Utc);
        }

        await using var session = _options.Documents.LightweightSession(SessionOptions.ForTransaction(transaction));

        // 2. Records of the idempotency keys and the state of every stream, in one round trip.
        var keys = batch.Where(p => p.Key is not null).Select(p => p.Key!).Distinct(StringComparer.Ordinal).ToArray();
        var query = session.CreateBatchQuery();
        var recordsTask = keys.Length > 0 ? query.LoadMany<AppendRecord>().ById(keys) : null;
        var stateTasks = batch.Select(p => p.StreamId).Distinct(StringComparer.Ordinal)
            .ToDictionary(s => s, s => query.Events.FetchStreamState(s), StringComparer.Ordinal);
        await query.Execute(ct).ConfigureAwait(false);
        var records = recordsTask is null
            ? new Dictionary<string, AppendRecord>(StringComparer.Ordinal)
            : (await recordsTask.ConfigureAwait(false)).ToDictionary(r => r.Id, StringComparer.Ordinal);
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (stream, task) in stateTasks) versions[stream] = (await task.ConfigureAwait(false))?.Version ?? 0;
        var startVersions = new Dictionary<string, long>(versions, StringComparer.Ordinal);

        // 3. Decide each append against the state plus what earlier appends of this batch wrote.
        var results = new List<(PendingAppend, AppendResult?, Exception?)>(batch.Count);
        var accepted = new List<PendingAppend>(batch.Count);
        var keysInBatch = new HashSet<string>(StringComparer.Ordinal);
        var eventsByStream = new Dictionary<string, List<IEvent>>(StringComparer.Ordinal);
        foreach (var p in batch)
        {
            p.Appended = null;
            if (p.Key is not null && records.TryGetValue(p.Key, out var record))
            {
                results.Add(record.StreamId == p.StreamId
                    ? (p, record.ToResult(), null)
                    : (p, null, new IdempotencyKeyConflictException(p.StreamId, p.Key, record.StreamId)));
                continue;
            }
            if (p.Key is not null && !keysInBatch.Add(p.Key))
            {
                results.Add((p, null, null)); // a concurrent retry of an append in this batch: decided after it commits
                continue;
            }
            var version = versions[p.StreamId];
            if (!p.Expected.IsAny && p.Expected.Value != version)
            {
                results.Add((p, null, new WrongExpectedVersionException(p.StreamId, p.Expected, version)));
                continue;
            }
            var appended = new IEvent[p.Events.Count];
            for (var i = 0; i < appended.Length; i++) appended[i] = Build(session, p.Events[i], recordedAt);
            if (!eventsByStream.TryGetValue(p.StreamId, out var list)) eventsByStream[p.StreamId] = list = [];
            list.AddRange(appended);
            versions[p.StreamId] = version + appended.Length;
            p.Appended = appended;
            accepted.Add(p);
            results.Add((p, null, null));
        }

        if (accepted.Count == 0)
        {
            await transaction.RollbackAsync(ct).ConfigureAwait(false);
            return new BatchOutcome(results, []);
        }

        // 4. Marten appends (Rich mode draws positions and versions under the lock) and runs the inline projections.
        foreach (var (stream, events) in eventsByStream)
            session.Events.Append(stream, startVersions[stream] + events.Count, events.ToArray());
        await session.SaveChangesAsync(ct).ConfigureAwait(false);
        var t1 = Stopwatch.GetTimestamp();

        // 5. The chain over what was stored, the records, the head, one NOTIFY, then the commit.
        var appendedEvents = accepted.SelectMany(p => p.Appended!).OrderBy(e => e.Sequence).ToList();
        var digests = await ReadDigestsAsync(connection, transaction, appendedEvents, ct).ConfigureAwait(false);
        var committed = new List<RecordedEvent>(appendedEvents.Count);
        var links = new byte[appendedEvents.Count][];
        for (var i = 0; i < appendedEvents.Count; i++)
        {
            var e = appendedEvents[i];
            if (e.Sequence <= headPosition) throw new InvalidOperationException($"Marten drew position {e.Sequence} at or below the head {headPosition}.");
            var (data, metadata) = digests[i];
            var link = EventChain.Compute(e.Sequence, e.StreamKey!, e.Version, e.Id, e.EventTypeName, data, metadata, recordedAt, previous);
            links[i] = link;
            committed.Add(new RecordedEvent(e.Sequence, e.StreamKey!, e.Version, e.Id, e.EventTypeName, e.Data,
                MartenEventStore.MetadataOf(e), recordedAt, link));
            previous = link;
        }
        var linkByPosition = committed.ToDictionary(e => e.Position, e => e.HashHex);
        for (var i = 0; i < results.Count; i++)
        {
            var (p, _, error) = results[i];
            if (p.Appended is not { } appended || error is not null) continue;
            var last = appended[^1];
            var result = new AppendResult(p.StreamId, last.Version, appended[0].Sequence, last.Sequence, linkByPosition[last.Sequence],
                recordedAt, false);
            results[i] = (p, result, null);
            if (p.Key is not null)
            {
                session.Store(new AppendRecord
                {
                    Id = p.Key,
                    StreamId = p.StreamId,
                    StreamVersion = result.NextExpectedVersion,
                    FirstPosition = result.FirstPosition,
                    LastPosition = result.LastPosition,
                    Link = result.ChainHash,
                    RecordedAt = recordedAt,
                });
            }
        }
        await session.SaveChangesAsync(ct).ConfigureAwait(false);
        await using (var chain = new NpgsqlBatch(connection, transaction))
        {
            var insert = new NpgsqlBatchCommand(
                $"INSERT INTO {_s}.{MartenConventions.ChainLinksTable} (position, data_digest, metadata_digest, link) SELECT * FROM unnest($1, $2, $3, $4)");
            insert.Parameters.Add(new NpgsqlParameter { Value = committed.Select(e => e.Position).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            insert.Parameters.Add(new NpgsqlParameter { Value = digests.Select(d => d.Data).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
            insert.Parameters.Add(new NpgsqlParameter { Value = digests.Select(d => d.Metadata).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
            insert.Parameters.Add(new NpgsqlParameter { Value = links, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
            chain.BatchCommands.Add(insert);
            var head = new NpgsqlBatchCommand($"""
                INSERT INTO {_s}.{MartenConventions.ChainHeadTable} (id, position, link, recorded_at) VALUES (1, $1, $2, $3)
                ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, link = EXCLUDED.link, recorded_at = EXCLUDED.recorded_at
                """);
            head.Parameters.AddWithValue(committed[^1].Position);
            head.Parameters.AddWithValue(previous);
            head.Parameters.Add(new NpgsqlParameter { Value = recordedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            chain.BatchCommands.Add(head);
            var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
            notify.Parameters.AddWithValue(_options.NotifyChannel);
            notify.Parameters.AddWithValue(committed[^1].Position.ToString(System.Globalization.CultureInfo.InvariantCulture));
            chain.BatchCommands.Add(notify);
            await chain.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        _commitSent = true;
        await transaction.CommitAsync(ct).ConfigureAwait(false);
        Statistics.Add(committed.Count, t1 - t0, Stopwatch.GetTimestamp() - t1);
        return new BatchOutcome(results, committed);
    }

    private static IEvent Build(IDocumentSession session, EventData data, DateTime recordedAt)
    {
        var e = session.Events.BuildEvent(data.Data);
        var metadata = data.Metadata ?? EventMetadata.Empty;
        e.Id = data.EventId;
        e.Timestamp = new DateTimeOffset(recordedAt);
        e.UserName = metadata.Actor;
        e.CorrelationId = metadata.CorrelationId;
        e.CausationId = metadata.CausationId;
        if (metadata.Tag is not null) e.SetHeader(EventMetadata.TagHeader, metadata.Tag);
        return e;
    }

    /// <summary>
    /// The digests of what PostgreSQL stored for the batch's events, in position order. Computed in SQL because the
    /// canonical text is jsonb's own output (Marten has no API for it); the rows are Marten's, read in the same
    /// transaction that wrote them.
    /// </summary>
    private async Task<List<(byte[] Data, byte[] Metadata)>> ReadDigestsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        List<IEvent> events, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            $"SELECT e.seq_id, {EventChain.DataDigestSql}, {EventChain.MetadataDigestSql} FROM {_s}.mt_events e WHERE e.seq_id = ANY($1) ORDER BY e.seq_id", connection, transaction);
        cmd.Parameters.Add(new NpgsqlParameter { Value = events.Select(e => e.Sequence).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        var digests = new List<(byte[], byte[])>(events.Count);
        await using var r = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await r.ReadAsync(ct).ConfigureAwait(false))
        {
            if (r.GetInt64(0) != events[digests.Count].Sequence) throw new InvalidOperationException($"Event {events[digests.Count].Sequence} was not stored.");
            digests.Add((r.GetFieldValue<byte[]>(1), r.GetFieldValue<byte[]>(2)));
        }
        if (digests.Count != events.Count) throw new InvalidOperationException("Not every appended event was stored.");
        return digests;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _stopping.CancelAsync().ConfigureAwait(false);
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
    private long _appendTicks;
    private long _chainAndCommitTicks;

    public long Commits => Interlocked.Read(ref _commits);
    public long Events => Interlocked.Read(ref _events);
    /// <summary>Time from taking the lock to Marten's save (lock, reads, append, inline projections), summed over commits.</summary>
    public TimeSpan LockAndAppend => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _appendTicks));
    /// <summary>Time spent linking the chain and committing (includes the WAL flush), summed over commits.</summary>
    public TimeSpan ChainAndCommit => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _chainAndCommitTicks));

    internal void Add(int events, long appendTicks, long chainAndCommitTicks)
    {
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _events, events);
        Interlocked.Add(ref _appendTicks, appendTicks);
        Interlocked.Add(ref _chainAndCommitTicks, chainAndCommitTicks);
    }
}

/// <summary>Which failures mean the connection (and with it the outcome of a commit) was lost.</summary>
internal static class Failures
{
    public static bool IsConnectionLoss(Exception ex) => ex switch
    {
        PostgresException pe => pe.SqlState
            is PostgresErrorCodes.AdminShutdown
                or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow
                or PostgresErrorCodes.ConnectionFailure
                or PostgresErrorCodes.ConnectionException
                or PostgresErrorCodes.SerializationFailure
                or PostgresErrorCodes.DeadlockDetected,
        NpgsqlException ne => ne.IsTransient
            || ne.InnerException is IOException or System.Net.Sockets.SocketException
            || ne.InnerException is EndOfStreamException,
        IOException or EndOfStreamException or ObjectDisposedException => true,
        { InnerException: { } inner } => IsConnectionLoss(inner),
        _ => false,
    };
}
