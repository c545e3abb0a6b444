using Annotate.Postgres;
using Annotate.Server.Hosting;
using Npgsql;

namespace Annotate.Server.Tests;

/// <summary>
/// Class fixture: a PostgreSQL cluster of its own whose <c>max_connections</c> is what docs/scaling.md says two replicas
/// with the default pool need, plus two: 2 x <see cref="ServerOptions.DefaultMaxConnections"/> for the replicas,
/// <see cref="Reserved"/> superuser-reserved slots, and two for other clients. The servers connect as an ordinary role
/// (<see cref="AppRole"/>), as they should in production, and so do the extra clients (<see cref="DeskRole"/>), so together
/// they have exactly 2 x pool + 2 slots (the desk's role reads pg_stat_activity as pg_read_all_stats): one connection more
/// and PostgreSQL refuses with too_many_connections (53300).
/// The test's own superuser connections are unpooled, so none stays open to take a slot.
/// </summary>
public sealed class FewConnections : IAsyncLifetime
{
    public const int Reserved = 3;
    public const int Extra = 2;
    public const int MaxConnections = 2 * ServerOptions.DefaultMaxConnections + Reserved + Extra;
    public const string AppRole = "annotate_app";
    public const string DeskRole = "desk_admin";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"annotate-pool-{Guid.NewGuid():N}"[..27]);
    private readonly string _password = Guid.NewGuid().ToString("N");
    private EmbeddedPostgres? _postgres;

    public EmbeddedPostgres Postgres => _postgres ?? throw new InvalidOperationException("not started");

    /// <summary>The cluster's superuser on the maintenance database, unpooled.</summary>
    public string Superuser => new NpgsqlConnectionStringBuilder(Postgres.AdminConnectionString) { Pooling = false }.ConnectionString;

    public async Task InitializeAsync()
    {
        _postgres = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = _dir,
            Database = "postgres",
            Settings = new Dictionary<string, string>
            {
                ["fsync"] = "off",
                ["max_connections"] = MaxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["superuser_reserved_connections"] = Reserved.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });
        await Sql.ExecAsync(
            Superuser,
            $"CREATE ROLE {AppRole} LOGIN PASSWORD '{_password}'; CREATE ROLE {DeskRole} LOGIN PASSWORD '{_password}'; "
                + $"GRANT pg_read_all_stats TO {DeskRole}");
    }

    /// <summary>A new database owned by <see cref="AppRole"/>; returns the connection string of that role to it.</summary>
    public async Task<string> DatabaseAsync(string applicationName = AnnotateDatabase.ApplicationName)
    {
        var name = $"pool_{Guid.NewGuid():N}";
        await Sql.ExecAsync(Superuser, $"CREATE DATABASE {name} OWNER {AppRole}");
        return new NpgsqlConnectionStringBuilder(Postgres.AdminConnectionString)
        {
            Database = name,
            Username = AppRole,
            Password = _password,
            ApplicationName = applicationName,
        }.ConnectionString;
    }

    /// <summary>The superuser on <paramref name="database"/>, unpooled.</summary>
    public string SuperuserOn(string database) => new NpgsqlConnectionStringBuilder(Superuser) { Database = database }.ConnectionString;

    /// <summary>An open connection of another client (the desk's admin with psql), held until disposed.</summary>
    public async Task<NpgsqlConnection> OtherClientAsync(string database)
    {
        var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Postgres.AdminConnectionString)
        {
            Database = database,
            Username = DeskRole,
            Password = _password,
            Pooling = false,
            ApplicationName = "psql",
        }.ConnectionString);
        await conn.OpenAsync();
        return conn;
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null) await _postgres.StopAsync();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
