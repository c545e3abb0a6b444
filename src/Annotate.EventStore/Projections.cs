using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Annotate.EventStore.Live;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Annotate.EventStore;

/// <summary>
/// A projection as pure functions of events: which view rows (documents, by key) an event touches, and how a
/// document evolves with it. No I/O, no clock: the runner loads and stores the documents, so a projection is
/// replayable from zero and computable as of any position.
/// </summary>
public interface IProjection
{
    /// <summary>Stable name: the checkpoint and the documents are stored under it.</summary>
    string Name { get; }

    /// <summary>Events the projection sees; the checkpoint still advances over the others.</summary>
    EventFilter Filter => EventFilter.All;

    /// <summary>Keys of the documents <paramref name="e"/> affects (none is fine).</summary>
    IEnumerable<string> KeysOf(RecordedEvent e);

    /// <summary>The document after <paramref name="e"/>; null deletes it. May modify and return <paramref name="current"/>.</summary>
    JsonObject? Apply(string key, JsonObject? current, RecordedEvent e);
}

/// <summary>
/// A projection stopped because it cannot apply an event (its code throws on it, or the database refuses the document
/// it makes). Applying again cannot help, so the runner stops that projection instead of retrying forever; the other
/// projections keep running, and the host reports the fault through its health checks.
/// </summary>
public sealed record ProjectionFault(string Projection, long Position, string EventType, Guid EventId, string Reason)
{
    public override string ToString() =>
        $"projection {Projection} cannot apply event {EventId} ({EventType}) at position {Position}: {Reason}";
}

/// <summary>The projection's own code failed on an event (a pure function of it: applying again fails again).</summary>
public sealed class ProjectionApplyException(RecordedEvent e, Exception inner)
    : Exception($"applying {e.Type} at position {e.Position} failed: {inner.Message}", inner)
{
    public RecordedEvent Event { get; } = e;
}

/// <summary>
/// Runs projections: each one follows the store from its checkpoint (catch-up, then live) and writes its
/// changed documents and its new checkpoint in one transaction, so each event takes effect exactly once.
/// The checkpoint update is conditional on the previous value, so two runners (replicas) never both apply a
/// batch, and a rebuild started elsewhere makes a running loop restart from the reset checkpoint.
/// </summary>
public sealed partial class ProjectionRunner : IAsyncDisposable
{
    private readonly MartenEventStore _store;
    private readonly string _s;
    private readonly ILogger _logger;
    private readonly Dictionary<string, State> _states;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private int _disposed;

    public ProjectionRunner(MartenEventStore store, IEnumerable<IProjection> projections, ILoggerFactory? loggerFactory = null)
    {
        _store = store;
        _s = store.Schema;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<ProjectionRunner>();
        _states = projections.ToDictionary(p => p.Name, p => new State(p), StringComparer.Ordinal);
    }

    private sealed class State(IProjection projection)
    {
        public readonly IProjection Projection = projection;
        private long _processed = -1;
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _generation;
        public CancellationTokenSource? Restart;
        private ProjectionFault? _fault;

        public ProjectionFault? Fault => Volatile.Read(ref _fault);

        /// <summary>Stops the projection for good in this process and wakes everyone waiting on it.</summary>
        public void SetFault(ProjectionFault fault)
        {
            Volatile.Write(ref _fault, fault);
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        public long Processed => Interlocked.Read(ref _processed);
        public Task Changed => Volatile.Read(ref _changed).Task;
        /// <summary>Bumped by a rebuild, so a loop still running on the old generation cannot report progress.</summary>
        public int Generation => Volatile.Read(ref _generation);

        public void Reset()
        {
            lock (this)
            {
                _generation++;
                Interlocked.Exchange(ref _processed, -1);
            }
            try { Restart?.Cancel(); } catch (ObjectDisposedException) { }
        }

        public void SetProcessed(long position, int generation)
        {
            lock (this)
            {
                if (generation != _generation) return;
                Interlocked.Exchange(ref _processed, position);
            }
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>
    /// The runner's tables: a checkpoint per projection, and its view rows (one jsonb document per projection and key).
    /// Declared through Marten's schema objects, so Marten creates and migrates them with its own.
    /// </summary>
    public static IEnumerable<Table> Tables(string schema)
    {
        var checkpoints = new Table(new PostgresqlObjectName(schema, "checkpoints", SchemaUtils.IdentifierUsage.General));
        checkpoints.AddColumn<string>("name").AsPrimaryKey();
        checkpoints.AddColumn<long>("position").NotNull();
        checkpoints.AddColumn("updated_at", "timestamptz").NotNull().DefaultValueByExpression("now()");
        var documents = new Table(new PostgresqlObjectName(schema, "projection_documents", SchemaUtils.IdentifierUsage.General));
        documents.AddColumn<string>("projection").AsPrimaryKey();
        documents.AddColumn<string>("key").AsPrimaryKey();
        documents.AddColumn("document", "jsonb").NotNull();
        documents.AddColumn<long>("position").NotNull();
        return [checkpoints, documents];
    }

    /// <summary>Starts one loop per projection; returns at once.</summary>
    public void Start()
    {
        foreach (var state in _states.Values) _loops.Add(Task.Run(() => RunAsync(state)));
    }

    /// <summary>The position the projection has processed in this process (-1 before it has loaded its checkpoint).</summary>
    public long GetPosition(string name) => StateOf(name).Processed;

    /// <summary>Why the projection stopped, or null while it runs.</summary>
    public ProjectionFault? FaultOf(string name) => StateOf(name).Fault;

    /// <summary>The names of the projections this runner runs.</summary>
    public IReadOnlyCollection<string> Names => _states.Keys;

    /// <summary>
    /// Read-your-writes: waits until the projection has processed <paramref name="position"/>; false on timeout, and at
    /// once when the projection stopped on a fault before reaching it.
    /// </summary>
    public async Task<bool> WaitForPositionAsync(
        string name,
        long position,
        TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        var state = StateOf(name);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                var changed = state.Changed;
                if (state.Processed >= position) return true;
                if (state.Fault is not null) return false;
                await changed.WaitAsync(cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return state.Processed >= position;
        }
    }

    /// <summary>
    /// Deletes the projection's documents, resets its checkpoint to zero and waits until it has been
    /// re-applied up to the head as it was when the rebuild started. Returns that head position.
    /// </summary>
    public async Task<long> RebuildAsync(string name, CancellationToken cancellationToken = default)
    {
        var state = StateOf(name);
        var head = await _store.GetHeadPositionAsync(cancellationToken).ConfigureAwait(false);
        await using (var conn = await _store.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        await using (var tx = await conn.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            // Checkpoint first: it waits for an in-flight apply of this projection and makes it fail its condition.
            await using var batch = new NpgsqlBatch(conn, tx);
            var reset = new NpgsqlBatchCommand($"INSERT INTO {_s}.checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO " +
                                               $"UPDATE SET position = 0, updated_at = now()");
            reset.Parameters.AddWithValue(name);
            batch.BatchCommands.Add(reset);
            var delete = new NpgsqlBatchCommand($"DELETE FROM {_s}.projection_documents WHERE projection = $1");
            delete.Parameters.AddWithValue(name);
            batch.BatchCommands.Add(delete);
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        state.Reset();
        while (!await WaitForPositionAsync(name, head, TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false)) { }
        return head;
    }

    /// <summary>One stored document of a projection, or null.</summary>
    public async Task<JsonObject?> GetDocumentAsync(string name, string key, CancellationToken cancellationToken = default)
    {
        await using var cmd = _store.DataSource.CreateCommand(
            $"SELECT document::text FROM {_s}.projection_documents WHERE projection = $1 AND key = $2");
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(key);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json
            ? JsonNode.Parse(json)!.AsObject()
            : null;
    }

    /// <summary>The projection's documents whose keys start with <paramref name="keyPrefix"/>, in key order.</summary>
    public async IAsyncEnumerable<(string Key, JsonObject Document, long Position)> ListDocumentsAsync(string name, string keyPrefix = "",
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var cmd = _store.DataSource.CreateCommand(
            $"SELECT key, document::text, position FROM {_s}.projection_documents WHERE projection = $1 AND starts_with(key, $2) " +
                $"ORDER BY key");
        cmd.Parameters.AddWithValue(name);
        cmd.Parameters.AddWithValue(keyPrefix);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return (r.GetString(0), JsonNode.Parse(r.GetString(1))!.AsObject(), r.GetInt64(2));
    }

    /// <summary>
    /// The projection's documents as of a position and/or time, computed in memory from the events alone
    /// (nothing stored is read or written). Useful for audits and "what did the view say then".
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, JsonObject>> ComputeAsOfAsync(IEventStore store, IProjection projection,
        long toPositionInclusive = long.MaxValue, DateTime? toRecordedAt = null, Func<string, bool>? keyFilter = null,
        CancellationToken cancellationToken = default)
    {
        var docs = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        await foreach (
            var e in store
                .ReadAllAsync(0, projection.Filter, long.MaxValue, toPositionInclusive, toRecordedAt, cancellationToken)
                .ConfigureAwait(false))
        {
            foreach (var key in projection.KeysOf(e))
            {
                if (keyFilter is not null && !keyFilter(key)) continue;
                var next = projection.Apply(key, docs.GetValueOrDefault(key), e);
                if (next is null) docs.Remove(key); else docs[key] = next;
            }
        }
        return docs;
    }

    private State StateOf(string name) =>
        _states.TryGetValue(name, out var s)
            ? s
            : throw new ArgumentException($"No projection named '{name}' in this runner.", nameof(name));

    private async Task RunAsync(State state)
    {
        var stopping = _stopping.Token;
        var name = state.Projection.Name;
        var filter = state.Projection.Filter;
        // After the database refused a batch's documents, the events up to here are applied one at a time, so the one it
        // refuses is known and named.
        long singleStepThrough = 0;
        while (!stopping.IsCancellationRequested)
        {
            using var restart = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            state.Restart = restart;
            var generation = state.Generation;
            try
            {
                var stored = await LoadCheckpointAsync(name, stopping).ConfigureAwait(false);
                state.SetProcessed(stored, generation);
                // Larger catch-up pages than plain readers: each page costs one load and one upsert of the documents it
                // touches, so a rebuild does fewer of them. The next page is read while this one is applied.
                var batches = _store.SubscribeBatchesAsync(stored, null, restart.Token, 4 * _store.Options.ReadPageSize);
                await foreach (var batch in ReadAhead.Prefetch(batches, 2, restart.Token).ConfigureAwait(false))
                {
                    if (batch.Through <= state.Processed) continue;
                    var matched = filter.IsEmpty ? batch.Events : batch.Events.Where(filter.Matches).ToList();
                    if (matched.Count > 0 && batch.Through <= singleStepThrough)
                    {
                        var moved = false;
                        foreach (var e in matched)
                        {
                            if (e.Position <= stored) continue;
                            try
                            {
                                moved = !await ApplyAsync(state.Projection, [e], stored, e.Position, stopping).ConfigureAwait(false);
                            }
                            catch (PostgresException pe) when (IsRefusal(pe))
                            {
                                throw new ProjectionApplyException(e, pe);
                            }
                            if (moved) break;
                            stored = e.Position;
                        }
                        if (moved || !await ApplyAsync(state.Projection, [], stored, batch.Through, stopping).ConfigureAwait(false))
                        {
                            LogRestart(_logger, name);
                            break;
                        }
                        stored = batch.Through;
                    }
                    else if (matched.Count > 0)
                    {
                        try
                        {
                            if (!await ApplyAsync(state.Projection, matched, stored, batch.Through, stopping).ConfigureAwait(false))
                            {
                                LogRestart(_logger, name);
                                break; // the checkpoint moved under us (rebuild or another runner): start again from it
                            }
                        }
                        catch (PostgresException pe) when (IsRefusal(pe))
                        {
                            if (matched.Count == 1) throw new ProjectionApplyException(matched[0], pe);
                            singleStepThrough = batch.Through;
                            LogSingleStep(_logger, name, stored, batch.Through);
                            break; // start again from the checkpoint, one event at a time up to this batch's end
                        }
                        stored = batch.Through;
                    }
                    state.SetProcessed(batch.Through, generation);
                    if (generation != state.Generation) break;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (restart.IsCancellationRequested)
            {
                // rebuild requested: start again from the reset checkpoint
            }
            catch (ProjectionApplyException ex)
            {
                var e = ex.Event;
                var reason = ex.InnerException switch
                {
                    PostgresException p => $"the database refused its document ({p.SqlState}: {p.MessageText})",
                    { } inner => inner.Message,
                    null => ex.Message,
                };
                var fault = new ProjectionFault(name, e.Position, e.Type, e.EventId, reason);
                // Fault first, log second: whoever reads the log line (an operator, a test) finds health already saying so.
                state.SetFault(fault);
                LogFaulted(_logger, name, e.EventId, e.Type, e.Position, fault.Reason);
                return; // stopped for good in this process: applying the same event again fails the same way
            }
            catch (Exception ex)
            {
                LogFailure(_logger, name, ex);
                try { await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task<long> LoadCheckpointAsync(string name, CancellationToken ct)
    {
        await using var cmd = _store.DataSource.CreateCommand($"""
            WITH created AS (INSERT INTO {_s}.checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING RETURNING position)
            SELECT position FROM created UNION ALL SELECT position FROM {_s}.checkpoints WHERE name = $1
            """);
        cmd.Parameters.AddWithValue(name);
        return (long)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    /// <summary>Applies one batch: checkpoint (conditional), documents, commit. False if the checkpoint was not <paramref
    /// name="from"/>.</summary>
    private async Task<bool> ApplyAsync(
        IProjection projection,
        IReadOnlyList<RecordedEvent> events,
        long from,
        long through,
        CancellationToken ct)
    {
        var keysByEvent = new List<(RecordedEvent Event, string[] Keys)>(events.Count);
        var allKeys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            string[] keys;
            try { keys = projection.KeysOf(e).ToArray(); }
            catch (Exception ex) { throw new ProjectionApplyException(e, ex); }
            if (keys.Length == 0) continue;
            keysByEvent.Add((e, keys));
            allKeys.UnionWith(keys);
        }

        await using var conn = await _store.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        var docs = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);
        await using (var read = new NpgsqlBatch(conn, tx))
        {
            // Views are derived data: their commit need not wait for the WAL flush. A crash of PostgreSQL can
            // lose only the newest batches, checkpoint and documents together (one transaction), and the
            // runner re-applies them from the events, which are always flushed before an append returns.
            read.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = off"));
            var checkpoint = new NpgsqlBatchCommand(
                $"UPDATE {_s}.checkpoints SET position = $3, updated_at = now() WHERE name = $1 AND position = $2");
            checkpoint.Parameters.AddWithValue(projection.Name);
            checkpoint.Parameters.AddWithValue(from);
            checkpoint.Parameters.AddWithValue(through);
            read.BatchCommands.Add(checkpoint);
            var load = new NpgsqlBatchCommand(
                $"SELECT key, document::text FROM {_s}.projection_documents WHERE projection = $1 AND key = ANY($2)");
            load.Parameters.AddWithValue(projection.Name);
            load.Parameters.Add(new NpgsqlParameter { Value = allKeys.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            read.BatchCommands.Add(load);
            // The reader skips results without rows: it starts on the documents query.
            await using var r = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await r.ReadAsync(ct).ConfigureAwait(false)) docs[r.GetString(0)] = JsonNode.Parse(r.GetString(1))!.AsObject();
            await r.CloseAsync().ConfigureAwait(false);
            if (checkpoint.RecordsAffected != 1)
            {
                await tx.RollbackAsync(ct).ConfigureAwait(false);
                return false;
            }
        }

        var positions = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (e, keys) in keysByEvent)
        {
            foreach (var key in keys)
            {
                try { docs[key] = projection.Apply(key, docs.GetValueOrDefault(key), e); }
                catch (Exception ex) { throw new ProjectionApplyException(e, ex); }
                positions[key] = e.Position;
            }
        }
        var upserts = positions.Keys.Where(k => docs[k] is not null).ToArray();
        var deletes = positions.Keys.Where(k => docs[k] is null).ToArray();
        await using (var write = new NpgsqlBatch(conn, tx))
        {
            if (upserts.Length > 0)
            {
                var upsert = new NpgsqlBatchCommand($"""
                    INSERT INTO {_s}.projection_documents (projection, key, document, position)
                    SELECT $1, k, d::jsonb, p FROM unnest($2, $3, $4) AS x(k, d, p)
                    ON CONFLICT (projection, key) DO UPDATE SET document = EXCLUDED.document, position = EXCLUDED.position
                    """);
                upsert.Parameters.AddWithValue(projection.Name);
                upsert.Parameters.Add(new NpgsqlParameter { Value = upserts, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                upsert.Parameters.Add(
                    new NpgsqlParameter
                    {
                        Value = upserts.Select(k => docs[k]!.ToJsonString()).ToArray(),
                        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text,
                    });
                upsert.Parameters.Add(
                    new NpgsqlParameter
                    {
                        Value = upserts.Select(k => positions[k]).ToArray(),
                        NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint,
                    });
                write.BatchCommands.Add(upsert);
            }
            if (deletes.Length > 0)
            {
                var delete = new NpgsqlBatchCommand($"DELETE FROM {_s}.projection_documents WHERE projection = $1 AND key = ANY($2)");
                delete.Parameters.AddWithValue(projection.Name);
                delete.Parameters.Add(new NpgsqlParameter { Value = deletes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
                write.BatchCommands.Add(delete);
            }
            if (write.BatchCommands.Count > 0) await write.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent: a host stops the runner and its container disposes it again (a second CancelAsync on the
        // disposed source would throw and abort the process on shutdown).
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var loop in _loops)
        {
            try { await loop.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        _stopping.Dispose();
    }

    /// <summary>
    /// The database refused the documents themselves (a data exception such as 22P05, "unsupported Unicode escape", an
    /// integrity or size limit): the same documents would be refused again, unlike a lost connection.
    /// </summary>
    private static bool IsRefusal(PostgresException e) =>
        e.SqlState.StartsWith("22", StringComparison.Ordinal) || e.SqlState.StartsWith("23", StringComparison.Ordinal)
        || e.SqlState.StartsWith("54", StringComparison.Ordinal);

    [LoggerMessage(Level = LogLevel.Error, Message = "Projection {Name} stopped: it cannot apply event {EventId} ({EventType}) at " +
        "position {Position}: {Reason}. Its view stays at the position before; the other projections keep running.")]
    private static partial void LogFaulted(ILogger logger, string name, Guid eventId, string eventType, long position, string reason);

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "Projection {Name}: the database refused the documents of events {From}..{Through}; applying them one at a time")]
    private static partial void LogSingleStep(ILogger logger, string name, long from, long through);

    [LoggerMessage(
        Level = LogLevel.Information,
        Message = "Projection {Name}: checkpoint moved elsewhere (rebuild or another runner); restarting from it")]
    private static partial void LogRestart(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Projection {Name} failed; retrying")]
    private static partial void LogFailure(ILogger logger, string name, Exception exception);
}
