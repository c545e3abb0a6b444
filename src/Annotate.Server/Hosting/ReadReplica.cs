using System.Diagnostics;
using System.Diagnostics.Metrics;
using Annotate.Domain.Consensus;
using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using Npgsql;

namespace Annotate.Server.Hosting;

/// <summary>
/// Reads from a PostgreSQL streaming replica (hot standby) named by <c>ConnectionStrings:AnnotateReadOnly</c>; without
/// it every read goes to the primary. The features that read the log or the views and can answer from a copy that lags
/// (lists, search, replay, export, verification, as-of views) ask here for their <see cref="Views"/>, and so do the live
/// reads: the store's hub reads its pages here (<see cref="MartenEventStore.CatchUpReads"/>: a subscriber's catch-up, the
/// events a NOTIFY announced) and WatchArticle its initial views and the views each change needs. Commands, the writer,
/// the live wake-up (LISTEN needs the primary, and this process's commits reach its hub in memory) and authentication
/// stay on the primary.
/// <para>
/// Read-your-writes: a read that must reflect a position (a command's <c>position</c> passed back as <c>min_position</c>
/// or an <c>as_of</c> position) gets the replica only once the replica's head (the chain head it has replayed) has
/// reached that position, waiting up to <c>Annotate:ReadOnlyWaitMs</c> (500 ms); after that it reads the primary.
/// A replica that cannot be reached sends every read to the primary for <see cref="Recheck"/>, then is tried again.
/// A wait that ran out marks the replica behind for as long: reads it can answer at once still go to it, the others go
/// to the primary without waiting.
/// </para>
/// <para>
/// Why not Npgsql's multi-host failover alone (<c>Host=a,b;Target Session Attributes=prefer-standby</c>): it picks a
/// reachable standby, but it cannot know whether that standby has replayed the position a caller needs. The
/// connection string may still list several standbys with those settings; this class adds the position check and the
/// fall back to the primary. The wait polls the replica's head: a standby cannot LISTEN, so no signal tells when it
/// has replayed a position.
/// </para>
/// </summary>
public sealed partial class ReadReplica : IReadSource, IAsyncDisposable
{
    public const string ConnectionStringName = "AnnotateReadOnly";
    public const string WaitKey = "Annotate:ReadOnlyWaitMs";

    /// <summary>How long reads skip an unreachable replica before trying it again.</summary>
    public static readonly TimeSpan Recheck = TimeSpan.FromSeconds(5);

    /// <summary>First pause between looks at a lagging replica's head; each next pause is twice as long, so a read that
    /// names a position far ahead (or never written) costs about seven looks in the default 500 ms, not a hundred.</summary>
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(5);

    private readonly Views _primary;
    private readonly Views? _replica;
    private readonly NpgsqlDataSource? _source;
    private readonly TimeSpan _maxWait;
    private readonly ILogger _logger;
    private long _skipUntil; // Stopwatch timestamp; 0: try the replica
    private long _noWaitUntil; // Stopwatch timestamp: a wait ran out, so reads the replica cannot answer now go to the primary

    public ReadReplica(
        IConfiguration configuration,
        ServerOptions server,
        Views primary,
        MartenEventStore store,
        ConsensusPolicy policy,
        ILogger<ReadReplica> logger)
    {
        _primary = primary;
        _logger = logger;
        _maxWait = TimeSpan.FromMilliseconds(Math.Max(0, configuration.GetValue(WaitKey, 500)));
        var configured = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(configured)) return;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(configured);
        }
        catch (ArgumentException e)
        {
            throw new DatabaseUnavailableException(
                $"ConnectionStrings:{ConnectionStringName} is not a valid Npgsql connection string: {e.Message}", e);
        }
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = AnnotateDatabase.ApplicationName + "-reads";
        // A replica that does not answer must not hold a read for Npgsql's default 15 s before it falls back.
        if (!Mentions(configured, "Timeout")) builder.Timeout = 3;
        // The same pool bounds and session defaults as the primary's data source (the replica has a max_connections too).
        AnnotateDatabase.ApplyDefaults(builder, server);
        _source = NpgsqlDataSource.Create(builder.ConnectionString);
        _replica = new Views(store.ReadingFrom(_source), policy);
        Description = $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        // The live hub's pages (subscribers' catch-up, reads after a wake-up) come through here too.
        store.CatchUpReads = this;
    }

    /// <summary>host:port/database of the replica (no password), or null when none is configured.</summary>
    public string? Description { get; }

    /// <summary>
    /// The views to read from for a read that must reflect at least <paramref name="atLeast"/> (0: any lag will do): the
    /// replica's when it is configured, reachable and has replayed that position in time, else the primary's.
    /// </summary>
    public async Task<Views> ViewsAsync(long atLeast, CancellationToken ct) =>
        await UseReplicaAsync(atLeast, ct) ? _replica! : _primary;

    /// <summary>
    /// Whether a read that must reflect <paramref name="atLeast"/> goes to the replica. After a wait ran out the replica
    /// counts as behind for <see cref="Recheck"/>: reads it can answer at once still go to it, the others go to the primary
    /// without waiting, so a replica whose replay stalls costs one wait, not one per read (the live hub reads on every
    /// wake-up).
    /// </summary>
    private async Task<bool> UseReplicaAsync(long atLeast, CancellationToken ct)
    {
        if (_replica is null) return false;
        if (Stopwatch.GetTimestamp() < Volatile.Read(ref _skipUntil)) return Served(false, "unreachable");
        var waited = Stopwatch.StartNew();
        var pause = FirstPoll;
        while (true)
        {
            long head;
            try
            {
                head = await _replica.HeadAsync(ct);
            }
            catch (Exception e) when (ErrorMapping.DatabaseOutage(e) is not null || e is PostgresException)
            {
                Skip(e);
                return Served(false, "unreachable");
            }
            if (head >= atLeast) return Served(true, "caught_up");
            var now = Stopwatch.GetTimestamp();
            if (now < Volatile.Read(ref _noWaitUntil)) return Served(false, "behind");
            var left = _maxWait - waited.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                Volatile.Write(ref _noWaitUntil, now + (long)(Recheck.TotalSeconds * Stopwatch.Frequency));
                return Served(false, "behind");
            }
            await Task.Delay(pause < left ? pause : left, ct);
            pause *= 2;
        }
    }

    /// <summary>
    /// Runs a read on <see cref="ViewsAsync"/>'s choice, and once more on the primary when the replica fails under it
    /// (stopped, restarted, cut off) before it answered.
    /// </summary>
    public Task<T> ReadAsync<T>(long atLeast, Func<Views, Task<T>> read, CancellationToken ct) =>
        RouteAsync(atLeast, replica => read(replica ? _replica! : _primary), ct);

    /// <summary>The store's side of the same choice, for the live hub's pages (<see cref="MartenEventStore.CatchUpReads"/>).</summary>
    Task<T> IReadSource.ReadAsync<T>(long atLeast, Func<MartenEventStore, Task<T>> read, CancellationToken ct) =>
        RouteAsync(atLeast, replica => read(replica ? _replica!.Store : _primary.Store), ct);

    private async Task<T> RouteAsync<T>(long atLeast, Func<bool, Task<T>> read, CancellationToken ct)
    {
        if (!await UseReplicaAsync(atLeast, ct)) return await read(false);
        try
        {
            return await read(true);
        }
        catch (Exception e) when (ErrorMapping.DatabaseOutage(e) is not null && !ct.IsCancellationRequested)
        {
            Skip(e);
            return await read(Served(false, "unreachable"));
        }
    }

    private void Skip(Exception e)
    {
        var now = Stopwatch.GetTimestamp();
        var wasSkipping = Interlocked.Exchange(ref _skipUntil, now + (long)(Recheck.TotalSeconds * Stopwatch.Frequency)) > now;
        // Pooled connections to a replica that went away are broken; the next try opens fresh ones.
        _source?.Clear();
        if (!wasSkipping) Log.Unreachable(_logger, Description ?? "", Recheck.TotalSeconds, e.Message);
    }

    private static bool Served(bool replica, string reason)
    {
        ServerTelemetry.RecordRead(replica ? "replica" : "primary", reason);
        return replica;
    }

    private static bool Mentions(string connectionString, string keyword) =>
        new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.ContainsKey(keyword);

    public async ValueTask DisposeAsync()
    {
        if (_source is not null) await _source.DisposeAsync();
    }

    private static partial class Log
    {
        [LoggerMessage(
            1,
            LogLevel.Warning,
            "The read replica {Replica} cannot be reached; reads go to the primary for {Seconds} s: {Reason}")]
        public static partial void Unreachable(ILogger logger, string replica, double seconds, string reason);
    }
}
