using System.Collections.Frozen;
using System.Diagnostics;
using System.Threading.Channels;
using Annotate.EventStore.Chain;
using Annotate.EventStore.Live;
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
/// as one Marten session on one transaction (group commit). An append that finds the writer idle and nothing queued is
/// carried out as a batch of one by its caller instead (<see cref="RunAloneAsync"/>): no hand-off to the loop and back,
/// which for a lone caller is two thread wake-ups per command. Either way one batch runs at a time (the writer's turn,
/// <see cref="_turn"/>), and every batch goes through the same steps:
/// 1. the global-order lock (<see cref="GlobalOrder"/>) and the database clock;
/// 2. in the lock's round trip: the version of every stream touched and the records of the idempotency keys;
/// 3. per append, a decision against that state plus what earlier appends of the same batch wrote: a retry
///    (its record exists) gets its original result, a wrong expected version is refused, the rest are appended;
///    a <see cref="Decision{TState}"/> is decided here, on its stream's folded state (kept between batches, only
///    newer events read, in one query for the batch), and its events appended the same way;
/// 4. <c>SaveChangesAsync</c> (Quick mode; the positions, known under the lock, are set on the events first, so the
///    inline projections see them);
/// 5. the audit chain (<see cref="ChainFunction"/>: digests of what was stored, links from the previous head, the
///    head row, one NOTIFY) and the commit, in one round trip. Every caller's answer carries its receipt.
/// A refused append does not stop the others. A batch that loses its connection before COMMIT is run again; one that
/// loses it after COMMIT was sent may be committed: its keyed appends are run again (their records answer with what
/// was committed) and its appends without a key fail with the connection error (outcome unknown to the caller too).
/// </summary>
internal sealed partial class GroupCommitWriter : IAsyncDisposable
{
    private sealed class PendingAppend(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events, string? key,
        IDecision? decision = null)
    {
        public readonly string StreamId = streamId;
        public readonly ExpectedVersion Expected = expected;
        /// <summary>The events to append: given by the caller, or what the decision returned in the batch running now.</summary>
        public IReadOnlyList<EventData> Events = events;
        public readonly string? Key = key;
        /// <summary>Set for a decision taken in the batch (<see cref="Decision{TState}"/>); its events come from it.</summary>
        public readonly IDecision? Decision = decision;
        public readonly TaskCompletionSource<AppendResult> Completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        /// <summary>0 queued, 1 taken by the writer, 2 cancelled before being taken.</summary>
        public int State;
        public IEvent[]? Appended;
        /// <summary>The stream's version after this append (set when the batch accepts it).</summary>
        public long VersionAfter;
    }

    private readonly EventStoreOptions _options;
    private readonly ILogger _logger;
    private readonly ILocalCommits _live;
    private readonly string _s;
    // Not SingleReader: that implementation cannot report Count, which the gather delay reads.
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    /// <summary>
    /// The writer's turn: held by whoever runs a batch (the loop, or a caller running its append alone), so batches never
    /// overlap and the state below is touched by one batch at a time (the semaphore orders its reads and writes).
    /// </summary>
    private readonly SemaphoreSlim _turn = new(1, 1);
    private volatile bool _closed;
    /// <summary>Appends in the last batch (read without the turn: only a hint whether callers come alone or together).</summary>
    private volatile int _lastBatchAppends = 1;

    private readonly FrozenSet<Type> _mappedTypes;
    /// <summary>Folded states for decisions, by stream and fold (only the batch holding the writer's turn touches them).</summary>
    private readonly DecisionStates _states;
    private int _forgetRequests, _forgotten; // _forgotten: the writer's turn's own

    /// <summary>Drops every kept state before the next batch decides (they are folded again from the stored events).</summary>
    public void ForgetKeptStates() => Interlocked.Increment(ref _forgetRequests);
    /// <summary>Whether the batch running now got as far as sending COMMIT (only the batch holding the writer's turn touches it).</summary>
    private bool _commitSent;
    /// <summary>The highest position this writer has set on an event (Marten may write a tombstone there; see step 1).</summary>
    private long _presetThrough;

    public GroupCommitWriter(EventStoreOptions options, ILogger logger, ILocalCommits live, FrozenSet<Type> mappedTypes)
    {
        _mappedTypes = mappedTypes;
        _states = new DecisionStates(options.DecisionStates);
        _options = options;
        _logger = logger;
        _live = live;
        _s = options.QuotedSchema;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Marten's table of <see cref="AppendRecord"/> (its document alias is set in <see cref="MartenConventions"/>).</summary>
    private const string AppendRecordTable = "mt_doc_append_record";

    public WriterStatistics Statistics { get; } = new();

    public Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events, string? key,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(streamId);
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) throw new ArgumentException("An append needs at least one event.", nameof(events));
        if (Invalid(events) is { } invalid) throw invalid;
        return Enqueue(new PendingAppend(streamId, expected, events, key), cancellationToken);
    }

    public Task<AppendResult> DecideAsync(IDecision decision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentException.ThrowIfNullOrEmpty(decision.StreamId);
        ArgumentException.ThrowIfNullOrEmpty(decision.FoldKey);
        return Enqueue(new PendingAppend(decision.StreamId, ExpectedVersion.Any, [], decision.IdempotencyKey, decision), cancellationToken);
    }

    /// <summary>Why events cannot be appended (an unmapped type, an empty id), or null.</summary>
    private ArgumentException? Invalid(IReadOnlyList<EventData> events)
    {
        foreach (var e in events)
        {
            if (e?.Data is null) return new ArgumentNullException(nameof(events));
            if (!_mappedTypes.Contains(e.Data.GetType()))
            {
                return new ArgumentException(
                    $"The event type {e.Data.GetType().FullName} is not mapped in the event graph.", nameof(events));
            }
            if (e.EventId == Guid.Empty) return new ArgumentException("Event ids must not be empty.", nameof(events));
        }
        return null;
    }

    private Task<AppendResult> Enqueue(PendingAppend pending, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
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
        if (_closed) throw new ObjectDisposedException(nameof(MartenEventStore));
        // Idle, nothing queued and the last batch was a batch of one: this caller runs its append as a batch of one. A queue
        // that is not empty means the loop is gathering or about to, and after a larger batch its callers are about to
        // come back (the loop's gather delay waits for them): the append joins them there, so concurrent callers still
        // share one commit rather than one of them taking the turn for a commit of its own.
        if (_lastBatchAppends == 1 && _queue.Reader.Count == 0 && _turn.Wait(0, CancellationToken.None)) return RunAloneAsync(pending);
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(MartenEventStore));
        return pending.Completion.Task;
    }

    /// <summary>
    /// Runs <paramref name="pending"/> as a batch of its own on the caller's flow, holding the writer's turn (taken by the
    /// caller). Appends queued meanwhile wait for the loop, which takes the turn once this batch is done.
    /// </summary>
    private async Task<AppendResult> RunAloneAsync(PendingAppend pending)
    {
        try
        {
            if (Interlocked.CompareExchange(ref pending.State, 1, 0) == 0) // not cancelled in the meantime
            {
                var carry = new List<PendingAppend>();
                _lastBatchAppends = 1;
                await ProcessBatchAsync([pending], carry).ConfigureAwait(false);
                // To decide again (a batch of one has nothing to wait for, so this stays empty in practice): queued anew.
                foreach (var p in carry)
                {
                    Volatile.Write(ref p.State, 0);
                    if (!_queue.Writer.TryWrite(p)) p.Completion.TrySetException(new ObjectDisposedException(nameof(MartenEventStore)));
                }
            }
        }
        finally
        {
            _turn.Release();
        }
        return await pending.Completion.Task.ConfigureAwait(false);
    }

    private async Task LoopAsync()
    {
        var batch = new List<PendingAppend>();
        var carry = new List<PendingAppend>();
        var reader = _queue.Reader;
        var previousAppends = 0;
        while (carry.Count > 0 || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await _turn.WaitAsync().ConfigureAwait(false);
            try
            {
                if (_options.GatherDelay > TimeSpan.Zero && reader.CanCount && reader.Count + carry.Count < previousAppends)
                    await Task.Delay(_options.GatherDelay).ConfigureAwait(false);
                batch.Clear();
                batch.AddRange(carry);
                carry.Clear();
                var count = batch.Sum(p => Math.Max(1, p.Events.Count));
                while (count < _options.MaxBatchEvents && reader.TryRead(out var p))
                {
                    if (Interlocked.CompareExchange(ref p.State, 1, 0) != 0) continue; // cancelled while queued
                    batch.Add(p);
                    count += Math.Max(1, p.Events.Count); // a decision counts as one until it has decided
                }
                if (batch.Count == 0) continue;
                previousAppends = batch.Count;
                _lastBatchAppends = batch.Count;
                await ProcessBatchAsync(batch, carry).ConfigureAwait(false);
            }
            finally
            {
                _turn.Release();
            }
        }
    }

    /// <summary>
    /// Runs one batch to an outcome for each append; never throws. Appends to decide again go to <paramref name="carry"/>.
    /// </summary>
    private async Task ProcessBatchAsync(List<PendingAppend> batch, List<PendingAppend> carry)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                BatchOutcome outcome;
                try
                {
                    outcome = await ExecuteBatchAsync(batch).ConfigureAwait(false);
                }
                catch
                {
                    _live.Abandoned();
                    throw;
                }
                // The live hub first, so that its fan-out is queued ahead of the callers' answers.
                if (outcome.Committed.Count > 0) _live.Committed(outcome.Committed);
                foreach (var (p, result, error) in outcome.Results)
                {
                    if (result is not null) p.Completion.TrySetResult(result);
                    else if (error is not null) p.Completion.TrySetException(error);
                    else carry.Add(p);
                }
                return;
            }
            catch (Exception ex) when (((attempt < 3 && Failures.IsConnectionLoss(ex)) || (attempt < 10 && Failures.IsPositionTaken(ex)))
                && !_stopping.IsCancellationRequested)
            {
                LogBatchRetry(_logger, batch.Count, attempt, ex);
                if (_commitSent)
                {
                    // The connection died after COMMIT was sent: the batch may be committed. A keyed append is retried
                    // (its record answers the retry with the original result); an append without a key cannot be told
                    // apart from a new one, so its caller gets the error, which says the outcome is unknown.
                    foreach (var p in batch.Where(p => p.Key is null)) p.Completion.TrySetException(Failures.AsOutcomeUnknown(ex));
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
                var error = Failures.AsOutcomeUnknown(ex);
                foreach (var p in batch) p.Completion.TrySetException(error);
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

        // 1. The global-order lock first, then (once granted) the clock, the chain's head, the last number drawn and the
        //    version of every stream of the batch. The versions are read from Marten's mt_streams in this same round trip
        //    (one statement for the whole batch; Marten's FetchStreamState is a query per stream), under the lock, so
        //    they are exact for every append of the batch. The last number drawn is moved up past the highest stored
        //    position and the highest position this writer has set on events: when a save fails before Marten draws
        //    its numbers, Marten writes tombstone rows at the positions set on the events, later and in a transaction
        //    of its own, without drawing them, and the next batch's numbers would collide with those rows.
        DateTime recordedAt;
        long headPosition;
        long lastDrawn;
        var streams = batch.Select(p => p.StreamId)
            .Concat(batch.Where(p => p.Decision?.Guard is not null).Select(p => p.Decision!.Guard!.Value.StreamId))
            .Concat(batch.SelectMany(p => p.Decision?.Preconditions ?? []).Select(g => g.StreamId))
            .Distinct(StringComparer.Ordinal).ToArray();
        var versions = streams.ToDictionary(s => s, _ => 0L, StringComparer.Ordinal);
        var keys = batch.Where(p => p.Key is not null).Select(p => p.Key!).Distinct(StringComparer.Ordinal).ToArray();
        var records = new Dictionary<string, AppendRecord>(StringComparer.Ordinal);
        await using (var first = new NpgsqlBatch(connection, transaction))
        {
            first.BatchCommands.Add(GlobalOrder.Take(_options.ValidatedSchema()));
            first.BatchCommands.Add(new NpgsqlBatchCommand(
                $"SELECT clock_timestamp(), h.position, h.recorded_at, "
                + $"(SELECT CASE WHEN m > d THEN setval('{_s}.mt_events_sequence', m) ELSE d END " +
                $"FROM (SELECT (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM {_s}.mt_events_sequence) AS d, " +
                $"greatest((SELECT coalesce(max(seq_id), 0) FROM {_s}.mt_events), $1) AS m) x) " +
                $"FROM (SELECT 1) o LEFT JOIN {_s}.{MartenConventions.ChainHeadTable} h ON h.id = 1")
            {
                Parameters = { new NpgsqlParameter { Value = _presetThrough, NpgsqlDbType = NpgsqlDbType.Bigint } },
            });
            var streamVersions = new NpgsqlBatchCommand($"SELECT id, version FROM {_s}.mt_streams WHERE id = ANY($1)");
            streamVersions.Parameters.Add(
                new NpgsqlParameter { Value = streams, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar });
            first.BatchCommands.Add(streamVersions);
            if (keys.Length > 0)
            {
                // 2. The records of the batch's idempotency keys (Marten documents) in this same round trip: Marten's
                //    LoadManyAsync would be a round trip of its own under the lock. Read as Marten stores them (its table
                //    for the "append_record" alias of MartenConventions, its serializer).
                var recordQuery = new NpgsqlBatchCommand($"SELECT data FROM {_s}.{AppendRecordTable} WHERE id = ANY($1)");
                recordQuery.Parameters.Add(new NpgsqlParameter { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar });
                first.BatchCommands.Add(recordQuery);
            }
            await using var r = await first.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await r.NextResultAsync(ct).ConfigureAwait(false);
            await r.ReadAsync(ct).ConfigureAwait(false);
            var clock = r.GetDateTime(0);
            headPosition = r.IsDBNull(1) ? 0 : r.GetInt64(1);
            var lastRecordedAt = r.IsDBNull(2) ? DateTime.MinValue : r.GetDateTime(2);
            lastDrawn = r.GetInt64(3);
            // Recorded times never go backwards along the order, even if the database clock does.
            recordedAt = DateTime.SpecifyKind(clock > lastRecordedAt ? clock : lastRecordedAt, DateTimeKind.Utc);
            await r.NextResultAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) versions[r.GetString(0)] = r.GetInt64(1);
            if (keys.Length > 0)
            {
                await r.NextResultAsync(ct).ConfigureAwait(false);
                var serializer = _options.Documents.Options.Serializer();
                while (await r.ReadAsync(ct).ConfigureAwait(false))
                {
                    var record = serializer.FromJson<AppendRecord>(r, 0);
                    records[record.Id] = record;
                }
            }
        }

        await using var session = _options.Documents.LightweightSession(SessionOptions.ForTransaction(transaction));

        // 2b. For the decisions: the stream events their kept states lack (one query for the batch, none when every state
        //     is current).
        // Kept states hold event data: work that rewrote stored data while appends were paused (an erasure's masking, before
        // this batch got the lock) asked for them to go.
        if (Volatile.Read(ref _forgetRequests) is var forget && forget != _forgotten)
        {
            _states.Clear();
            _forgotten = forget;
        }
        var decisions = new DecisionRound(this, versions);
        await decisions.FetchNewerAsync(
                session,
                batch.Where(p => p.Decision is not null && !(p.Key is not null && records.ContainsKey(p.Key))),
                ct)
            .ConfigureAwait(false);

        // 3. Decide each append against the state plus what earlier appends of this batch wrote.
        var results = new List<(PendingAppend, AppendResult?, Exception?)>(batch.Count);
        var accepted = new List<PendingAppend>(batch.Count);
        var keysInBatch = new HashSet<string>(StringComparer.Ordinal);
        var eventsByStream = new Dictionary<string, List<IEvent>>(StringComparer.Ordinal);
        var unchanged = new List<(int Index, DecisionRound.Folded State)>();
        foreach (var p in batch)
        {
            p.Appended = null;
            if (p.Decision?.Guard is { } guard && versions.GetValueOrDefault(guard.StreamId) != guard.Version)
            {
                results.Add((p, null, new StreamGuardException(guard, versions.GetValueOrDefault(guard.StreamId))));
                continue;
            }
            if (p.Decision?.Preconditions.FirstOrDefault(g => versions.GetValueOrDefault(g.StreamId) != g.Version)
                is { StreamId: not null } moved)
            {
                results.Add((p, null, new StreamGuardException(moved, versions.GetValueOrDefault(moved.StreamId))));
                continue;
            }
            if (p.Key is not null && records.TryGetValue(p.Key, out var record))
            {
                results.Add(record.StreamId == p.StreamId
                    ? (p, null, null) // answered below, with its link
                    : (p, null, new IdempotencyKeyConflictException(p.StreamId, p.Key, record.StreamId)));
                continue;
            }
            if (p.Key is not null && !keysInBatch.Add(p.Key))
            {
                results.Add((p, null, null)); // a concurrent retry of an append in this batch: decided after it commits
                continue;
            }
            var version = versions[p.StreamId];
            DecisionRound.Folded? state = null;
            if (p.Decision is { } decision)
            {
                // Decided on the stream as it stands under the lock, including what earlier appends of this batch wrote.
                try
                {
                    state = decisions.StateFor(decision);
                    var decided = decision.Decide(state.Value.Value) ?? [];
                    if (Invalid(decided) is { } invalid) throw invalid;
                    p.Events = decided;
                }
                catch (Exception refusal)
                {
                    if (state is null) decisions.Forget(decision);
                    results.Add((p, null, refusal));
                    continue;
                }
                if (p.Events.Count == 0)
                {
                    unchanged.Add((results.Count, state.Value));
                    results.Add((p, null, null)); // answered below: the stream's last event
                    continue;
                }
            }
            else if (!p.Expected.IsAny && p.Expected.Value != version)
            {
                results.Add((p, null, new WrongExpectedVersionException(p.StreamId, p.Expected, version)));
                continue;
            }
            var appended = new IEvent[p.Events.Count];
            for (var i = 0; i < appended.Length; i++) appended[i] = Build(session, p.Events[i], recordedAt);
            if (!eventsByStream.TryGetValue(p.StreamId, out var list)) eventsByStream[p.StreamId] = list = [];
            list.AddRange(appended);
            versions[p.StreamId] = version + appended.Length;
            p.VersionAfter = version + appended.Length;
            p.Appended = appended;
            decisions.Appended(p.StreamId, version, appended);
            accepted.Add(p);
            results.Add((p, null, null));
        }

        // What is answered with an earlier event: retries (their records) and unchanged decisions on events committed
        // before this batch. Their links are read in the chain's round trip (or, when the batch appends nothing, in one
        // query of their own, only when there are any).
        var earlier = records.Values.Select(r => r.LastPosition)
            .Concat(unchanged.Where(u => u.State.LastBatchEvent is null && u.State.LastPosition > 0).Select(u => u.State.LastPosition))
            .Distinct()
            .ToArray();
        void AnswerEarlier(Dictionary<long, byte[]> earlierLinks)
        {
            for (var i = 0; i < results.Count; i++)
            {
                var (p, _, error) = results[i];
                if (error is null && p.Appended is null && p.Key is not null && records.TryGetValue(p.Key, out var record))
                    results[i] = (p, record.ToResult(Convert.ToHexStringLower(earlierLinks[record.LastPosition])), null);
            }
            foreach (var (index, state) in unchanged)
            {
                if (state.LastBatchEvent is not null) continue; // answered once the batch has its links
                var p = results[index].Item1;
                results[index] = (p, state.LastPosition == 0
                    ? new AppendResult(p.StreamId, 0, 0, 0, "", default, true)
                    : new AppendResult(p.StreamId, state.Version, state.LastPosition, state.LastPosition,
                        Convert.ToHexStringLower(earlierLinks[state.LastPosition]), state.LastRecordedAt, true), null);
            }
        }

        if (accepted.Count == 0)
        {
            AnswerEarlier(earlier.Length == 0
                ? []
                : await MartenEventStore.LinksAsync(connection, transaction, _s, earlier, ct).ConfigureAwait(false));
            await transaction.RollbackAsync(ct).ConfigureAwait(false);
            decisions.Keep(recordedAt); // states of committed events only: nothing of this batch was appended
            return new BatchOutcome(results, []);
        }

        // 4. Marten appends and runs the inline projections. Under the lock nobody else draws from Marten's sequence, so
        //    the positions are the next numbers, in the order the events are appended: they are set on the events
        //    before the save (the inline projections see them) and checked against what was stored afterwards.
        var next = lastDrawn;
        foreach (var (stream, events) in eventsByStream)
        {
            foreach (var e in events) e.Sequence = ++next;
            session.Events.Append(stream, events.ToArray());
        }
        _presetThrough = Math.Max(_presetThrough, next);
        foreach (var p in accepted)
        {
            if (p.Key is null) continue;
            var appended = p.Appended!;
            session.Store(new AppendRecord
            {
                Id = p.Key,
                StreamId = p.StreamId,
                StreamVersion = p.VersionAfter,
                FirstPosition = appended[0].Sequence,
                LastPosition = appended[^1].Sequence,
                RecordedAt = recordedAt,
            });
        }
        var predicted = accepted.SelectMany(p => p.Appended!).ToDictionary(e => e.Id, e => e.Sequence);
        try
        {
            await session.SaveChangesAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A connection that broke during the save can surface as the next command's complaint about its transaction
            // ("Transaction is already completed", from an inline projection's read): it is a connection loss all the same.
            var broken = connection.FullState.HasFlag(System.Data.ConnectionState.Broken)
                || connection.State == System.Data.ConnectionState.Closed;
            try { await transaction.RollbackAsync(CancellationToken.None).ConfigureAwait(false); }
            catch (Exception rollback) when (rollback is NpgsqlException or InvalidOperationException or ObjectDisposedException) { }
            await ReserveThroughAsync(next).ConfigureAwait(false);
            if (broken && !Failures.IsConnectionLoss(ex)) throw new IOException("The database connection was lost during the save.", ex);
            throw;
        }
        var t1 = Stopwatch.GetTimestamp();
        // Where Marten reads the positions back, they must be the ones the inline projections were given; the chain
        // function checks the stored (position, id) pairs against the same order.
        foreach (var p in accepted)
        {
            foreach (var e in p.Appended!)
            {
                if (e.Sequence != predicted[e.Id])
                    throw new InvalidOperationException($"Marten stored event {e.Id} at position {e.Sequence}, not {predicted[e.Id]}.");
            }
        }

        // 5. The chain (ChainFunction: digests, links, the head, one NOTIFY) once every event of the save is stored, and the
        //    commit, in one round trip: a statement of its own rather than part of the save, because Marten orders the
        //    operations of a save by its own rules (an operation queued last can run before other streams' appends).
        var appendedEvents = accepted.SelectMany(p => p.Appended!).OrderBy(e => e.Sequence).ToList();
        foreach (var e in appendedEvents)
        {
            if (e.Sequence <= headPosition)
            {
                throw new InvalidOperationException($"Marten drew position {e.Sequence} at or below the head {headPosition}.");
            }
        }
        _commitSent = true;
        if (appendedEvents.Count > 0) _live.Committing(appendedEvents[^1].Sequence);
        var (links, earlierLinks) = await LinkAndCommitAsync(connection, transaction, appendedEvents, earlier, ct).ConfigureAwait(false);
        AnswerEarlier(earlierLinks);
        var committed = new List<RecordedEvent>(appendedEvents.Count);
        foreach (var e in appendedEvents)
        {
            committed.Add(new RecordedEvent(e.Sequence, e.StreamKey!, e.Version, e.Id, e.EventTypeName, e.Data,
                MartenEventStore.MetadataOf(e), recordedAt, links[e.Sequence]));
        }
        for (var i = 0; i < results.Count; i++)
        {
            var (p, _, error) = results[i];
            if (p.Appended is not { } appended || error is not null) continue;
            var last = appended[^1];
            results[i] = (p, new AppendResult(p.StreamId, p.VersionAfter, appended[0].Sequence, last.Sequence,
                Convert.ToHexStringLower(links[last.Sequence]), recordedAt, false), null);
        }
        foreach (var (index, state) in unchanged)
        {
            if (state.LastBatchEvent is not { } e) continue;
            var p = results[index].Item1;
            results[index] = (p, new AppendResult(p.StreamId, state.Version, e.Sequence, e.Sequence,
                Convert.ToHexStringLower(links[e.Sequence]), recordedAt, true), null);
        }
        decisions.Keep(recordedAt); // committed: the states this batch advanced are the streams' states now
        Statistics.Add(committed.Count, t1 - t0, Stopwatch.GetTimestamp() - t1);
        StoreTelemetry.RecordBatch(accepted.Count, committed.Count, Stopwatch.GetElapsedTime(t0),
            accepted.Select(p => p.Events[0].Metadata?.CorrelationId));
        return new BatchOutcome(results, committed);
    }

    /// <summary>
    /// The states of one batch's decisions. Each starts from the writer's kept state of its stream and fold (or the
    /// initial state), then folds the stored events it lacks (read once for the batch, under the lock, so they are every
    /// event up to the version read with the lock) and the events earlier appends of this batch wrote. Nothing goes back
    /// to the kept states until the batch has committed (<see cref="Keep"/>): a batch that fails leaves them as they were.
    /// </summary>
    private sealed class DecisionRound(GroupCommitWriter writer, Dictionary<string, long> versions)
    {
        /// <summary>A folded state: its value, the stream version and last event it reflects.</summary>
        internal readonly record struct Folded(
            object Value, long Version, long LastPosition, DateTime LastRecordedAt, IEvent? LastBatchEvent);

        /// <summary>Stream versions as stored, read under the lock (before this batch appends).</summary>
        private readonly Dictionary<string, long> _stored = new(versions, StringComparer.Ordinal);
        private readonly Dictionary<(string Stream, string Fold), (IDecision Decision, Folded State)> _folded = [];
        private readonly Dictionary<string, IReadOnlyList<IEvent>> _newer = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<(long Version, IEvent Event)>> _appended = new(StringComparer.Ordinal);

        /// <summary>Reads, in one round trip, the stored events that the kept states of these decisions lack.</summary>
        public async Task FetchNewerAsync(IDocumentSession session, IEnumerable<PendingAppend> pending, CancellationToken ct)
        {
            var from = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var p in pending)
            {
                var d = p.Decision!;
                var stored = _stored.GetValueOrDefault(d.StreamId);
                if (stored == 0) continue;
                var kept = writer._states.Get(d.StreamId, d.FoldKey);
                if (kept is not null && kept.Version > stored)
                {
                    // The stream is behind a kept state (the database was replaced): fold it again from its start.
                    writer._states.Remove(d.StreamId, d.FoldKey);
                    kept = null;
                }
                var have = kept?.Version ?? 0;
                if (have < stored) from[d.StreamId] = Math.Min(from.GetValueOrDefault(d.StreamId, long.MaxValue), have + 1);
            }
            if (from.Count == 0) return;
            // Marten's batched query: one round trip on the batch's transaction for every stream.
            var query = session.CreateBatchQuery();
            var reads = from.Select(f => (Stream: f.Key, Events: query.Events.FetchStream(f.Key, 0, null, f.Value))).ToList();
            await query.Execute(ct).ConfigureAwait(false);
            foreach (var (stream, events) in reads) _newer[stream] = await events.ConfigureAwait(false);
        }

        /// <summary>The decision's state as the stream stands now in this batch.</summary>
        public Folded StateFor(IDecision d)
        {
            var key = (d.StreamId, d.FoldKey);
            var stored = _stored.GetValueOrDefault(d.StreamId);
            var f = _folded.TryGetValue(key, out var known) ? known.State
                : writer._states.Get(d.StreamId, d.FoldKey) is { } kept && kept.Version <= stored
                    ? new Folded(kept.State, kept.Version, kept.LastPosition, kept.LastRecordedAt, null)
                    : new Folded(d.Initial, 0, 0, default, null);
            f = CatchUp(d, f);
            var current = _appended.TryGetValue(d.StreamId, out var mine) ? mine[^1].Version : stored;
            if (f.Version != current)
            {
                throw new InvalidOperationException(
                    $"The state of stream '{d.StreamId}' reached version {f.Version}, not its version {current}.");
            }
            _folded[key] = (d, f);
            return f;
        }

        private Folded CatchUp(IDecision d, Folded f)
        {
            if (_newer.TryGetValue(d.StreamId, out var newer))
            {
                foreach (var e in newer)
                {
                    if (e.Version <= f.Version) continue;
                    f = new Folded(d.Evolve(f.Value, e.Data), e.Version, e.Sequence, e.Timestamp.UtcDateTime, null);
                }
            }
            if (_appended.TryGetValue(d.StreamId, out var mine))
            {
                foreach (var (version, e) in mine)
                {
                    if (version <= f.Version) continue;
                    f = f with { Value = d.Evolve(f.Value, e.Data), Version = version, LastBatchEvent = e };
                }
            }
            return f;
        }

        /// <summary>Events this batch appends to a stream at <paramref name="versionBefore"/>; later decisions fold them.</summary>
        public void Appended(string stream, long versionBefore, IEvent[] events)
        {
            if (!_appended.TryGetValue(stream, out var list)) _appended[stream] = list = [];
            for (var i = 0; i < events.Length; i++) list.Add((versionBefore + 1 + i, events[i]));
        }

        /// <summary>A decision whose fold failed: its state is folded again from the stream next time.</summary>
        public void Forget(IDecision d)
        {
            _folded.Remove((d.StreamId, d.FoldKey));
            writer._states.Remove(d.StreamId, d.FoldKey);
        }

        /// <summary>After the batch has committed (or appended nothing): its states become the kept ones.</summary>
        public void Keep(DateTime recordedAt)
        {
            foreach (var ((stream, fold), (d, state)) in _folded)
            {
                Folded f;
                try { f = CatchUp(d, state); }
                catch (Exception) { writer._states.Remove(stream, fold); continue; }
                writer._states.Set(stream, fold, f.LastBatchEvent is { } last
                    ? new DecisionStates.Entry(f.Value, f.Version, last.Sequence, recordedAt)
                    : new DecisionStates.Entry(f.Value, f.Version, f.LastPosition, f.LastRecordedAt));
            }
        }
    }

    /// <summary>
    /// After a failed save (its transaction rolled back): when it failed before Marten drew its numbers, Marten writes
    /// tombstone rows at the positions set on the events, later and in a transaction of its own, without drawing them.
    /// Moving the sequence past them, under the global-order lock so that no writer is drawing at that moment, keeps
    /// every writer from drawing a position such a row will take. Best effort: step 1 of the next batch and the retry
    /// of a batch that meets a taken position cover a failure here.
    /// </summary>
    private async Task ReserveThroughAsync(long position)
    {
        try
        {
            await using var connection = await _options.DataSource.OpenConnectionAsync(CancellationToken.None).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(CancellationToken.None).ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(GlobalOrder.Take(_options.ValidatedSchema()));
            var reserve = new NpgsqlBatchCommand(
                $"SELECT setval('{_s}.mt_events_sequence', "
                + "greatest($1, (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END " +
                $"FROM {_s}.mt_events_sequence)))");
            reserve.Parameters.AddWithValue(position);
            batch.BatchCommands.Add(reserve);
            await batch.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
            await transaction.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            LogReserveFailed(_logger, position, ex);
        }
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
    /// Runs <see cref="ChainFunction"/> over the batch's positions, reads the links of <paramref name="earlier"/> positions
    /// (events committed before the batch that some of its appends are answered with) and commits, in one round trip; the
    /// batch's links and the earlier ones, by position. The COMMIT is the batch's last statement: when a statement before
    /// it fails, PostgreSQL skips the rest (a batch stops at its first error) and the transaction is rolled back as for
    /// any failure; every earlier failure of the transaction has thrown before this point, so the COMMIT never meets an
    /// aborted transaction (which it would end silently). Npgsql follows the transaction status the server reports, so
    /// the <see cref="NpgsqlTransaction"/> counts as completed (its disposal rolls nothing back) once COMMIT has succeeded.
    /// </summary>
    private async Task<(Dictionary<long, byte[]> Links, Dictionary<long, byte[]> Earlier)> LinkAndCommitAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<IEvent> events, long[] earlier, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        var chain = new NpgsqlBatchCommand($"SELECT out_position, out_link FROM {_s}.{ChainFunction.Name}($1, $2, $3)");
        chain.Parameters.AddWithValue(events[0].Sequence);
        chain.Parameters.AddWithValue(events[^1].Sequence);
        chain.Parameters.Add(new NpgsqlParameter
        {
            Value = events.Select(e => e.Id).ToArray(),
            NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid,
        });
        batch.BatchCommands.Add(chain);
        if (earlier.Length > 0)
        {
            var read = new NpgsqlBatchCommand(
                $"SELECT position, link FROM {_s}.{MartenConventions.ChainLinksTable} WHERE position = ANY($1)");
            read.Parameters.Add(new NpgsqlParameter { Value = earlier, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
            batch.BatchCommands.Add(read);
        }
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        var links = new Dictionary<long, byte[]>(events.Count);
        var earlierLinks = new Dictionary<long, byte[]>(earlier.Length);
        await using (var r = await batch.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await r.ReadAsync(ct).ConfigureAwait(false)) links[r.GetInt64(0)] = r.GetFieldValue<byte[]>(1);
            if (earlier.Length > 0)
            {
                await r.NextResultAsync(ct).ConfigureAwait(false);
                while (await r.ReadAsync(ct).ConfigureAwait(false)) earlierLinks[r.GetInt64(0)] = r.GetFieldValue<byte[]>(1);
            }
            while (await r.NextResultAsync(ct).ConfigureAwait(false)) { }
        }
        return (links, earlierLinks);
    }

    public async ValueTask DisposeAsync()
    {
        _closed = true;
        _queue.Writer.TryComplete();
        try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        await _turn.WaitAsync().ConfigureAwait(false); // a caller's batch of one that took the turn before the close
        await _stopping.CancelAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not move the event sequence past position {Position} after a failed save")]
    private static partial void LogReserveFailed(ILogger logger, long position, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Append batch of {Appends} appends failed on attempt {Attempt}; retrying")]
    private static partial void LogBatchRetry(ILogger logger, int appends, int attempt, Exception exception);
}

/// <summary>Counters of the group-commit writer.</summary>
public sealed class WriterStatistics
{
    private long _commits;
    private long _events;
    private long _appendTicks;
    private long _commitTicks;

    public long Commits => Interlocked.Read(ref _commits);
    public long Events => Interlocked.Read(ref _events);
    /// <summary>
    /// Time from taking the lock to the end of Marten's save (lock, reads, append, inline projections), summed over commits.
    /// </summary>
    public TimeSpan LockAndAppend => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _appendTicks));
    /// <summary>Time spent in the chain and the commit (one round trip and the WAL flush), summed over commits.</summary>
    public TimeSpan Commit => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _commitTicks));

    internal void Add(int events, long appendTicks, long commitTicks)
    {
        Interlocked.Increment(ref _commits);
        Interlocked.Add(ref _events, events);
        Interlocked.Add(ref _appendTicks, appendTicks);
        Interlocked.Add(ref _commitTicks, commitTicks);
    }
}

/// <summary>Which failures mean the connection (and with it the outcome of a commit) was lost.</summary>
internal static class Failures
{
    /// <summary>
    /// A connection loss as the caller sees it (<see cref="AppendOutcomeUnknownException"/>); any other failure as it is.
    /// </summary>
    public static Exception AsOutcomeUnknown(Exception ex) => IsConnectionLoss(ex) ? new AppendOutcomeUnknownException(ex) : ex;

    /// <summary>
    /// Marten's insert met a row at a position it had just drawn: a tombstone that another writer's failed save
    /// wrote late at a position it had set but never drawn (see step 1 of the writer). Nothing was committed, and
    /// running the batch again draws past that row.
    /// </summary>
    public static bool IsPositionTaken(Exception ex) => ex switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } pe =>
            pe.ConstraintName == "pkey_mt_events_seq_id" || pe.MessageText.Contains("pkey_mt_events_seq_id", StringComparison.Ordinal),
        { InnerException: { } inner } => IsPositionTaken(inner),
        _ => false,
    };

    public static bool IsConnectionLoss(Exception ex) => ex switch
    {
        PostgresException pe => pe.SqlState
            is PostgresErrorCodes.AdminShutdown
                or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections
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
