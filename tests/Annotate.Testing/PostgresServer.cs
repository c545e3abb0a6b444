using Annotate.Postgres;
using Npgsql;

namespace Annotate.Testing;

/// <summary>
/// One PostgreSQL server per test process, shared by every test class (each class gets its own database), the
/// first of: the server named by ANNOTATE_TEST_PG (an Npgsql connection string for a role that may create
/// databases); a container started with Testcontainers (PostgresContainer; image from ANNOTATE_TEST_PG_IMAGE);
/// without a reachable Docker engine, a throwaway cluster of the machine's PostgreSQL in a temp folder, stopped
/// and deleted when the process exits. Which one it is appears once in the test log.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);

    private readonly string _description;

    private PostgresServer(string adminConnectionString, string description)
    {
        AdminConnectionString = adminConnectionString;
        _description = description;
    }

    /// <summary>Connection string of a role that may create databases.</summary>
    public string AdminConnectionString { get; }

    public static Task<PostgresServer> SharedAsync() => Shared.Value;

    /// <summary>Creates an empty database named after <paramref name="prefix"/> and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{Sanitize(prefix)}_{Guid.NewGuid():N}"; // at most 61 characters: under the 63-byte limit
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using (var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", conn))
        {
            await cmd.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Drops the database of <paramref name="connectionString"/>, ending its open sessions first.</summary>
    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using (var pooled = new NpgsqlConnection(connectionString)) NpgsqlConnection.ClearPool(pooled);
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable("ANNOTATE_TEST_PG");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            TestLog.Say("PostgreSQL from ANNOTATE_TEST_PG");
            return new PostgresServer(configured, "PostgreSQL from ANNOTATE_TEST_PG");
        }

        var container = await PostgresContainer.TryStartAsync(TestLog.Say,
            reason => $"No Docker engine reachable ({reason}): the tests use a self-started PostgreSQL cluster instead.");
        if (container is not null) return new PostgresServer(container, "PostgreSQL in a Docker container");

        var pg = await StartClusterAsync();
        return new PostgresServer(pg.AdminConnectionString, $"self-started PostgreSQL on port {pg.Port}");
    }

    /// <summary>A throwaway cluster of the machine's PostgreSQL in a temp folder, stopped and deleted when the process exits.</summary>
    private static async Task<EmbeddedPostgres> StartClusterAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"annotate-test-pg-{Guid.NewGuid():N}"[..30]);
        var pg = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = dir,
            Database = "postgres",
            // A throwaway cluster: durability buys nothing here and costs test time.
            Settings = new Dictionary<string, string>
            {
                ["fsync"] = "off",
                ["full_page_writes"] = "off",
                ["max_connections"] = "400",
            },
        });
        // The test host may be ended before its ProcessExit handlers finish (the runner does not wait long), or
        // killed outright: the reaper then stops the cluster (a no-op when the handler already did) and removes
        // the folder, so no postgres process or folder is left behind.
        var bin = PostgresBinaries.Find() ?? throw new EmbeddedPostgresException(PostgresBinaries.InstallHint);
        var runAs = Environment.IsPrivilegedProcess ? "runuser -u postgres -- " : "";
        Reaper.Start($"{runAs}'{bin}/pg_ctl' -D '{dir}/pgdata' -m fast -w -t 60 stop; rm -rf '{dir}'");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            pg.StopAsync().GetAwaiter().GetResult();
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
        TestLog.Say($"PostgreSQL cluster started by the tests on port {pg.Port} ({bin})");
        return pg;
    }

    private static string Sanitize(string prefix)
    {
        var chars = prefix.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray();
        var s = new string(chars);
        return s.Length > 28 ? s[..28] : s;
    }

    public override string ToString() => _description;
}

/// <summary>Class fixture: a fresh database for one test class, dropped when the class is done.</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    private PostgresServer? _server;

    public string ConnectionString { get; private set; } = "";

    public PostgresServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialized.");

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.SharedAsync();
        ConnectionString = await _server.CreateDatabaseAsync("t");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null && ConnectionString.Length > 0) await _server.DropDatabaseAsync(ConnectionString);
    }
}
