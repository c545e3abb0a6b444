using Annotate.Postgres;
using Npgsql;

namespace Annotate.Server.Hosting;

/// <summary>Raised when the configured database cannot be used; the message says which one and why (never its password).</summary>
public sealed class DatabaseUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The server's PostgreSQL: the database named by <c>ConnectionStrings:Annotate</c>, or else an embedded
/// cluster in the data folder that this class starts and stops. Owns the one <see cref="NpgsqlDataSource"/>
/// the rest of the server uses. Invariant: <see cref="DataSource"/> exists only between a successful
/// <see cref="StartAsync"/> and <see cref="StopAsync"/>, and a connection has been opened through it.
/// </summary>
public sealed partial class AnnotateDatabase(ServerOptions options, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger<AnnotateDatabase>();

    /// <summary>Application name the server's sessions carry (visible in pg_stat_activity).</summary>
    public const string ApplicationName = "annotate-server";

    private EmbeddedPostgres? _embedded;
    private NpgsqlDataSource? _dataSource;
    private NpgsqlDataSource? _readiness;

    public NpgsqlDataSource DataSource =>
        _dataSource ?? throw new InvalidOperationException("The database is not started: RunAnnotateAsync starts it before the host.");

    /// <summary>
    /// The readiness check's own way to PostgreSQL, for when every connection of <see cref="DataSource"/> is in use
    /// (<see cref="DatabaseCheck"/>): the same database and role, unpooled (a connection exists only while a check runs,
    /// and the check runs one at a time), bounded by <see cref="Health.DatabaseTimeout"/>; its sessions carry the server's
    /// application name followed by <c>-readiness</c>.
    /// </summary>
    public NpgsqlDataSource ReadinessDataSource =>
        _readiness ?? throw new InvalidOperationException("The database is not started: RunAnnotateAsync starts it before the host.");

    /// <summary>True when the server runs its own cluster (no connection string configured).</summary>
    public bool IsEmbedded => options.ConnectionString is null;

    /// <summary>host:port/database and where it comes from; safe to log (no password).</summary>
    public string Description { get; private set; } = "(not started)";

    /// <summary>
    /// Connections the server opens at most, and seconds a call waits for one (from the settings or the connection string).
    /// </summary>
    public (int MaxConnections, int TimeoutSeconds) Pool { get; private set; }

    public async Task StartAsync(CancellationToken ct)
    {
        if (options.Error is { } invalid) throw new DatabaseUnavailableException(invalid);
        string connectionString;
        if (options.ConnectionString is { } configured)
        {
            connectionString = configured;
        }
        else
        {
            _embedded = await EmbeddedPostgres.StartAsync(
                new EmbeddedPostgresOptions { DataDirectory = options.DataDirectory, BinDirectory = options.PostgresBinDirectory },
                loggers.CreateLogger<EmbeddedPostgres>(), ct);
            connectionString = _embedded.ConnectionString;
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            throw new DatabaseUnavailableException(
                $"ConnectionStrings:{ServerOptions.ConnectionStringName} is not a valid Npgsql connection string: {e.Message}",
                e);
        }
        ApplyDefaults(builder, options);
        Pool = (builder.MaxPoolSize, builder.Timeout);
        var where = $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        Description = _embedded is null ? $"{where} (configured)" : $"{where} (embedded, data in {_embedded.DataDirectory})";

        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        _readiness = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            Pooling = false,
            Timeout = (int)Math.Ceiling(Health.DatabaseTimeout.TotalSeconds),
            ApplicationName = $"{builder.ApplicationName}-readiness",
        }.ConnectionString);
        try
        {
            await using var conn = await _dataSource.OpenConnectionAsync(ct);
            Log.Connected(_logger, Description, conn.PostgreSqlVersion.ToString(), Pool.MaxConnections, Pool.TimeoutSeconds);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            await StopAsync();
            throw new DatabaseUnavailableException($"Cannot connect to PostgreSQL at {where}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The server's settings of a connection string, each unless the connection string sets it itself: its application
    /// name, no reset on close, and the pool's bounds. Every data source the server opens to PostgreSQL takes these.
    /// </summary>
    public static void ApplyDefaults(NpgsqlConnectionStringBuilder builder, ServerOptions options)
    {
        // NpgsqlConnectionStringBuilder.ContainsKey is true for every keyword it knows, so ask its text, where each keyword
        // that was set appears under its canonical name (whichever synonym the connection string used).
        var set = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = ApplicationName;
        // The server keeps no session state on pooled connections (its LISTEN has a connection of its own), so the
        // DISCARD ALL Npgsql sends when a connection returns to the pool is a transaction that resets nothing: one per
        // query.
        if (!set.ContainsKey("No Reset On Close")) builder.NoResetOnClose = true;
        // The pool is the bound on this process's connections (Npgsql never opens more than Maximum Pool Size): without it,
        // Npgsql's default of 100 lets one busy replica take every connection PostgreSQL allows. A call that finds the pool
        // full waits at most Timeout seconds, then fails with a timeout that ErrorMapping answers UNAVAILABLE.
        if (!set.ContainsKey("Maximum Pool Size")) builder.MaxPoolSize = options.MaxConnections;
        if (!set.ContainsKey("Timeout")) builder.Timeout = options.ConnectionTimeoutSeconds;
        // PostgreSQL's default random_page_cost (4, a disk that seeks) makes the planner read a small table whole rather than
        // probe its index: once autovacuum has analyzed Marten's mt_streams at a few pages, every lookup of a stream by id
        // (Marten's append function, the foreign key check of each event, the writer's version read) scanned all of it, a few
        // hundred rows at a time and more as the table grew. The server's tables are read from memory or SSD, for which 1.1
        // is the usual setting: the index wins from a couple of pages on.
        if (!set.ContainsKey("Options")) builder.Options = $"-c random_page_cost={RandomPageCost}";
        // The same few dozen statements (the writer's, Marten's appends, upserts and loads of the views) run on every batch:
        // prepared on each pooled connection after a few uses, PostgreSQL stops parsing and planning them anew each time.
        if (!set.ContainsKey("Max Auto Prepare")) builder.MaxAutoPrepare = MaxAutoPrepare;
    }

    /// <summary>Statements Npgsql prepares automatically per connection (see <see cref="ApplyDefaults"/>).</summary>
    public const int MaxAutoPrepare = 64;

    /// <summary>The planner's cost of a page read out of order on the server's sessions (see <see cref="ApplyDefaults"/>).</summary>
    public const string RandomPageCost = "1.1";

    /// <summary>Closes the data source, then stops the embedded cluster if this process runs one. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _dataSource, null) is { } dataSource) await dataSource.DisposeAsync();
        if (Interlocked.Exchange(ref _readiness, null) is { } readiness) await readiness.DisposeAsync();
        if (Interlocked.Exchange(ref _embedded, null) is { } embedded) await embedded.StopAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information,
            "Connected to PostgreSQL {Version} at {Database}; at most {MaxConnections} connections, "
            + "a call waits up to {Timeout} s for one")]
        public static partial void Connected(ILogger logger, string database, string version, int maxConnections, int timeout);
    }
}
