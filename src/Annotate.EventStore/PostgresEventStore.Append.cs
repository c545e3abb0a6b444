using System.Text;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Annotate.EventStore;

// Append path: group commit through one writer loop per store instance.
//
// Invariants:
// - Every append transaction first locks the single head row (SELECT ... FOR UPDATE) and keeps the lock
//   until it commits or rolls back. Positions are head+1.. and the head moves in the same transaction,
//   so across all processes positions are assigned and committed in order, without gaps.
// - Expected versions and idempotency are checked under that lock against committed state plus what
//   earlier appends of the same batch wrote; a refused append is left out of the batch, the others commit.
// - The chain hash of each event is computed under the lock from the previous event's hash, so each
//   append result carries its receipt.
public sealed partial class PostgresEventStore
{
    private sealed class PendingAppend(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events, string[] metadata)
    {
        public readonly string StreamId = streamId;
        public readonly ExpectedVersion Expected = expected;
        public readonly IReadOnlyList<EventData> Events = events;
        public readonly string[] Metadata = metadata;
        public readonly TaskCompletionSource<AppendResult> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>0 queued, 1 taken by the writer, 2 cancelled before being taken.</summary>
        public int State;
    }

    public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) throw new ArgumentException("An append needs at least one event.", nameof(events));
        var metadata = new string[events.Count];
        var ids = new HashSet<Guid>();
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            ArgumentException.ThrowIfNullOrEmpty(e.Type);
            if (e.EventId == Guid.Empty) throw new ArgumentException("Event ids must not be empty.", nameof(events));
            if (!ids.Add(e.EventId)) throw new ArgumentException($"Event id {e.EventId} appears twice in one append.", nameof(events));
            // Checked here, on the caller's thread, so malformed JSON never reaches (and fails) a shared batch.
            EnsureJson(e.JsonData, nameof(events));
            metadata[i] = (e.Metadata ?? EventMetadata.Empty).ToJson();
        }
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();

        var pending = new PendingAppend(streamId, expected, events, metadata);
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
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(PostgresEventStore));
        return pending.Completion.Task;
    }

    private static void EnsureJson(string json, string paramName)
    {
        ArgumentNullException.ThrowIfNull(json, paramName);
        var reader = new Utf8JsonReader(
            Encoding.UTF8.GetBytes(json),
            new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            while (reader.Read()) { }
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"Event data is not valid JSON: {ex.Message}", paramName, ex);
        }
        if (json.Contains('\0', StringComparison.Ordinal))
            throw new ArgumentException("Event data must not contain NUL characters.", paramName);
    }

    private async Task WriterLoopAsync()
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

    /// <summary>Runs one batch to an outcome for each append; never throws. Appends to retry later go to <paramref
    /// name="carry"/>.</summary>
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
                if (outcome.Committed.Count > 0) _hub.OnLocalCommit(outcome.Committed);
                return;
            }
            catch (PostgresException ex) when (batch.Count > 1 && !IsConnectionLoss(ex))
            {
                // A statement failed for a reason one append can cause (e.g. a unique violation from a row
                // written outside the store): isolate it by running each append in its own transaction.
                foreach (var p in batch) await ProcessBatchAsync([p], carry).ConfigureAwait(false);
                return;
            }
            catch (PostgresException ex)
                when (ex.SqlState == PostgresErrorCodes.UniqueViolation && ex.ConstraintName == "events_stream_version_key")
            {
                var p = batch[0];
                var actual = await TryGetVersionAsync(p.StreamId).ConfigureAwait(false);
                p.Completion.TrySetException(new WrongExpectedVersionException(p.StreamId, p.Expected, actual));
                return;
            }
            catch (Exception ex) when (attempt < 3 && IsConnectionLoss(ex) && !_stopping.IsCancellationRequested)
            {
                // The outcome of the commit is unknown; retrying is safe because the retry deduplicates by event id.
                LogBatchRetry(_logger, batch.Count, attempt, ex);
            }
            catch (Exception ex)
            {
                foreach (var p in batch) p.Completion.TrySetException(ex);
                return;
            }
        }
    }

    private async Task<long> TryGetVersionAsync(string streamId)
    {
        try { return await GetStreamVersionAsync(streamId).ConfigureAwait(false); }
        catch (NpgsqlException) { return -1; }
    }

    private static bool IsConnectionLoss(Exception ex) => ex switch
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
        IOException or EndOfStreamException => true,
        _ => false,
    };

    private sealed record BatchOutcome(List<(PendingAppend, AppendResult?, Exception?)> Results, List<RecordedEvent> Committed);

    private async Task<BatchOutcome> ExecuteBatchAsync(List<PendingAppend> batch)
    {
        var streams = batch.Select(p => p.StreamId).Distinct().ToArray();
        var allIds = batch.SelectMany(p => p.Events.Select(e => e.EventId)).ToArray();

        await using var conn = await _dataSource.OpenConnectionAsync(_stopping.Token).ConfigureAwait(false);
        try
        {
            long lastPosition;
            byte[] lastHash;
            DateTime recordedAt;
            var versions = new Dictionary<string, long>(StringComparer.Ordinal);
            var existing = new Dictionary<Guid, (string Stream, long Version, long Position, byte[] Hash)>();

            var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            // Round trip 1: begin, take the head lock, then (after it is granted) read the clock, versions and known ids.
            await using (var read = new NpgsqlBatch(conn))
            {
                read.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
                read.BatchCommands.Add(
                    new NpgsqlBatchCommand($"SELECT last_position, last_hash, last_recorded_at FROM {_s}.head WHERE id = 1 FOR UPDATE"));
                read.BatchCommands.Add(new NpgsqlBatchCommand("SELECT clock_timestamp()"));
                var sv = new NpgsqlBatchCommand($"SELECT stream_id, version FROM {_s}.streams WHERE stream_id = ANY($1)");
                sv.Parameters.Add(new NpgsqlParameter { Value = streams, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                read.BatchCommands.Add(sv);
                var ids = new NpgsqlBatchCommand(
                    $"SELECT event_id, stream_id, stream_version, position, hash FROM {_s}.events WHERE event_id = ANY($1)");
                ids.Parameters.Add(new NpgsqlParameter { Value = allIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
                read.BatchCommands.Add(ids);
                await using var r = await read.ExecuteReaderAsync(_stopping.Token).ConfigureAwait(false);
                await r.ReadAsync().ConfigureAwait(false);
                lastPosition = r.GetInt64(0);
                lastHash = r.GetFieldValue<byte[]>(1);
                var lastRecordedAt = r.GetDateTime(2);
                await r.NextResultAsync().ConfigureAwait(false);
                await r.ReadAsync().ConfigureAwait(false);
                var clock = r.GetDateTime(0);
                // recorded_at never goes backwards along the order, even if the database clock does.
                recordedAt = clock > lastRecordedAt ? clock : lastRecordedAt;
                await r.NextResultAsync().ConfigureAwait(false);
                while (await r.ReadAsync().ConfigureAwait(false)) versions[r.GetString(0)] = r.GetInt64(1);
                await r.NextResultAsync().ConfigureAwait(false);
                while (await r.ReadAsync().ConfigureAwait(false))
                    existing[r.GetGuid(0)] = (r.GetString(1), r.GetInt64(2), r.GetInt64(3), r.GetFieldValue<byte[]>(4));
            }

            var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            var results = new List<(PendingAppend, AppendResult?, Exception?)>(batch.Count);
            var committed = new List<RecordedEvent>();
            var articles = new List<string?>();
            var idsInBatch = new HashSet<Guid>();
            var position = lastPosition;
            var previous = lastHash;
            foreach (var p in batch)
            {
                var known = 0;
                var laterInBatch = false;
                foreach (var e in p.Events)
                {
                    if (existing.ContainsKey(e.EventId)) known++;
                    else if (idsInBatch.Contains(e.EventId)) laterInBatch = true;
                }
                if (laterInBatch)
                {
                    // A concurrent retry of an append in this same batch: decide it after this batch commits.
                    results.Add((p, null, null));
                    continue;
                }
                if (known == p.Events.Count)
                {
                    results.Add(Deduplicate(p, existing));
                    continue;
                }
                if (known > 0)
                {
                    results.Add(
                        (p, null, new EventIdConflictException(p.StreamId, p.Events.First(e => existing.ContainsKey(e.EventId)).EventId)));
                    continue;
                }
                var version = versions.GetValueOrDefault(p.StreamId);
                if (!p.Expected.IsAny && p.Expected.Value != version)
                {
                    results.Add((p, null, new WrongExpectedVersionException(p.StreamId, p.Expected, version)));
                    continue;
                }
                var first = position + 1;
                for (var i = 0; i < p.Events.Count; i++)
                {
                    var e = p.Events[i];
                    position++;
                    version++;
                    var hash = EventChain.Compute(
                        position,
                        p.StreamId,
                        version,
                        e.EventId,
                        e.Type,
                        e.JsonData,
                        p.Metadata[i],
                        recordedAt,
                        previous);
                    committed.Add(
                        new RecordedEvent(position, p.StreamId, version, e.EventId, e.Type, e.JsonData, p.Metadata[i], recordedAt, hash));
                    articles.Add(e.Metadata?.ArticleId);
                    idsInBatch.Add(e.EventId);
                    previous = hash;
                }
                versions[p.StreamId] = version;
                results.Add((p, new AppendResult(p.StreamId, version, first, position, Convert.ToHexStringLower(previous), false), null));
            }

            if (committed.Count == 0)
            {
                await using var rollback = new NpgsqlCommand("ROLLBACK", conn);
                await rollback.ExecuteNonQueryAsync(_stopping.Token).ConfigureAwait(false);
                return new BatchOutcome(results, committed);
            }

            var t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            // Round trip 2: insert, move the streams and the head, notify other instances, commit.
            await using (var write = new NpgsqlBatch(conn))
            {
                var insert = new NpgsqlBatchCommand($"""
                    INSERT INTO {_s}.events
                        (position, stream_id, stream_version, event_id, type, data, metadata, article_id, recorded_at, hash)
                    SELECT p, s, v, i, t, d::json, m::json, a, $9, h
                    FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $10) AS x(p, s, v, i, t, d, m, a, h)
                    """);
                insert.Parameters.Add(Array(committed.Select(e => e.Position).ToArray(), NpgsqlDbType.Bigint));
                insert.Parameters.Add(Array(committed.Select(e => e.StreamId).ToArray(), NpgsqlDbType.Text));
                insert.Parameters.Add(Array(committed.Select(e => e.StreamVersion).ToArray(), NpgsqlDbType.Bigint));
                insert.Parameters.Add(Array(committed.Select(e => e.EventId).ToArray(), NpgsqlDbType.Uuid));
                insert.Parameters.Add(Array(committed.Select(e => e.Type).ToArray(), NpgsqlDbType.Text));
                insert.Parameters.Add(Array(committed.Select(e => e.Data).ToArray(), NpgsqlDbType.Text));
                insert.Parameters.Add(Array(committed.Select(e => e.MetadataJson).ToArray(), NpgsqlDbType.Text));
                insert.Parameters.Add(Array(articles.ToArray(), NpgsqlDbType.Text));
                insert.Parameters.Add(new NpgsqlParameter { Value = recordedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                insert.Parameters.Add(Array(committed.Select(e => e.Hash).ToArray(), NpgsqlDbType.Bytea));
                write.BatchCommands.Add(insert);

                var touched = committed.Select(e => e.StreamId).Distinct().ToArray();
                var upsert = new NpgsqlBatchCommand($"""
                    INSERT INTO {_s}.streams (stream_id, version) SELECT * FROM unnest($1, $2)
                    ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version
                    """);
                upsert.Parameters.Add(Array(touched, NpgsqlDbType.Text));
                upsert.Parameters.Add(Array(touched.Select(s => versions[s]).ToArray(), NpgsqlDbType.Bigint));
                write.BatchCommands.Add(upsert);

                var head = new NpgsqlBatchCommand(
                    $"UPDATE {_s}.head SET last_position = $1, last_hash = $2, last_recorded_at = $3 WHERE id = 1");
                head.Parameters.AddWithValue(position);
                head.Parameters.AddWithValue(previous);
                head.Parameters.Add(new NpgsqlParameter { Value = recordedAt, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                write.BatchCommands.Add(head);

                var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, $2)");
                notify.Parameters.AddWithValue(_options.NotifyChannel);
                notify.Parameters.AddWithValue(position.ToString(System.Globalization.CultureInfo.InvariantCulture));
                write.BatchCommands.Add(notify);
                write.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                await write.ExecuteNonQueryAsync(_stopping.Token).ConfigureAwait(false);
            }
            Statistics.Add(committed.Count, t1 - t0, System.Diagnostics.Stopwatch.GetTimestamp() - t2);
            StoreTelemetry.RecordBatch(
                batch.Count, committed.Count, System.Diagnostics.Stopwatch.GetElapsedTime(t0), batch.Select(p => p.Events[0].Metadata?.RequestId));
            return new BatchOutcome(results, committed);
        }
        catch
        {
            // Leave nothing half-done on a pooled connection (a broken one is discarded by the pool anyway).
            if (conn.State == System.Data.ConnectionState.Open)
            {
                try
                {
                    await using var rollback = new NpgsqlCommand("ROLLBACK", conn);
                    await rollback.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (NpgsqlException) { }
            }
            throw;
        }
    }

    private static NpgsqlParameter Array<T>(T[] values, NpgsqlDbType elementType) =>
        new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | elementType };

    private static (PendingAppend, AppendResult?, Exception?) Deduplicate(PendingAppend p,
        Dictionary<Guid, (string Stream, long Version, long Position, byte[] Hash)> existing)
    {
        var rows = p.Events.Select(e => existing[e.EventId]).ToList();
        if (rows.Exists(r => r.Stream != p.StreamId))
        {
            return (
                p,
                null,
                new EventIdConflictException(p.StreamId, p.Events.First(e => existing[e.EventId].Stream != p.StreamId).EventId));
        }

        var last = rows.MaxBy(r => r.Position);
        return (p, new AppendResult(p.StreamId, rows.Max(r => r.Version), rows.Min(r => r.Position), last.Position,
            Convert.ToHexStringLower(last.Hash), true), null);
    }
}
