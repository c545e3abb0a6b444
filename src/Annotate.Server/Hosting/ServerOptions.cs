using Annotate.Postgres;

namespace Annotate.Server.Hosting;

/// <summary>
/// The server's own settings, read from configuration (appsettings, environment, command line).
/// Kestrel's listen address is not here: it is the standard <c>--urls</c> / <c>ASPNETCORE_URLS</c>.
/// </summary>
public sealed record ServerOptions
{
    /// <summary>Where the server listens unless <c>--urls</c> (or ASPNETCORE_URLS) says otherwise: loopback only.</summary>
    public const string DefaultUrl = "http://127.0.0.1:50051";

    /// <summary>Name of the connection string (<c>ConnectionStrings:Annotate</c>, env <c>ConnectionStrings__Annotate</c>).</summary>
    public const string ConnectionStringName = "Annotate";

    /// <summary>Npgsql connection string of an existing database; when null, the server runs its own embedded cluster.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Folder of the embedded cluster (<c>--data-dir</c> / <c>Annotate:DataDir</c>).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Folder holding initdb/pg_ctl/postgres (<c>Annotate:PostgresBinDir</c>); searched for when null.</summary>
    public string? PostgresBinDirectory { get; init; }

    /// <summary>Setting of <see cref="MaxConnections"/>.</summary>
    public const string MaxConnectionsKey = "Annotate:Database:MaxConnections";

    /// <summary>Setting of <see cref="ConnectionTimeoutSeconds"/>.</summary>
    public const string ConnectionTimeoutKey = "Annotate:Database:ConnectionTimeout";

    /// <summary>
    /// Connections this process opens to PostgreSQL at most (Npgsql's Maximum Pool Size), unless the connection string sets
    /// its own. One is the writer's (every command of the process goes through one transaction at a time), one the live
    /// hub's LISTEN, the rest serve reads (views, token checks, catch-up pages), each for one query or transaction. Streams
    /// hold none while they wait. docs/scaling.md has the arithmetic against PostgreSQL's max_connections.
    /// </summary>
    public int MaxConnections { get; init; } = DefaultMaxConnections;

    /// <summary>Writer 1 + LISTEN 1 + 14 for reads: more concurrent reads than two cores run at once (they queue in the pool
    /// instead of in PostgreSQL), and 100 connections (PostgreSQL's default) fit five replicas with room for admins.</summary>
    public const int DefaultMaxConnections = 16;

    /// <summary>
    /// Seconds a call waits for a connection (a free one in the pool, or a new one PostgreSQL accepts) before it is answered
    /// UNAVAILABLE (Npgsql's Timeout), unless the connection string sets its own.
    /// </summary>
    public int ConnectionTimeoutSeconds { get; init; } = DefaultConnectionTimeoutSeconds;

    /// <summary>Short against Npgsql's 15 s: a caller retries sooner than it would wait; long enough to open a connection to a
    /// database across a network (TLS and authentication included).</summary>
    public const int DefaultConnectionTimeoutSeconds = 5;

    /// <summary>Why a setting above cannot be used (it names the setting), or null; the server does not start with one.</summary>
    public string? Error { get; init; }

    public static ServerOptions From(IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        var dataDir = configuration["Annotate:DataDir"];
        var binDir = configuration["Annotate:PostgresBinDir"];
        var maxConnections = Whole(configuration, MaxConnectionsKey, DefaultMaxConnections, min: 2, max: 10_000,
            "the writer and the live hub's LISTEN take one each");
        var timeout = Whole(configuration, ConnectionTimeoutKey, DefaultConnectionTimeoutSeconds, min: 1, max: 1024, "seconds");
        return new ServerOptions
        {
            ConnectionString = string.IsNullOrWhiteSpace(connectionString) ? null : connectionString,
            DataDirectory = string.IsNullOrWhiteSpace(dataDir) ? EmbeddedPostgresOptions.DefaultDataDirectory() : dataDir,
            PostgresBinDirectory = string.IsNullOrWhiteSpace(binDir) ? null : binDir,
            MaxConnections = maxConnections.Value,
            ConnectionTimeoutSeconds = timeout.Value,
            Error = maxConnections.Error ?? timeout.Error,
        };
    }

    private static (int Value, string? Error) Whole(IConfiguration configuration, string key, int fallback, int min, int max, string what)
    {
        var text = configuration[key];
        if (string.IsNullOrWhiteSpace(text)) return (fallback, null);
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && value >= min && value <= max
            ? (value, null)
            : (fallback, $"{key}: \"{text}\" is not a whole number from {min} to {max} ({what}).");
    }
}
