// STAND-IN (event store branch): a minimal PostgresServer/PostgresDatabase with the API of the
// shared test fixture, so the event store tests compile and run before the real fixture lands.
// The real fixture replaces this file.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Xunit;

namespace Annotate.Testing;

/// <summary>One PostgreSQL server per test process: ANNOTATE_TEST_PG, or one started with initdb/pg_ctl.</summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);
    private static int _counter;

    private PostgresServer(string adminConnectionString) => AdminConnectionString = adminConnectionString;

    public string AdminConnectionString { get; }

    public static Task<PostgresServer> SharedAsync() => Shared.Value;

    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _counter)}_{Guid.NewGuid():N}".ToLowerInvariant();
        if (name.Length > 60) name = name[..60];
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using (var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", conn)) await cmd.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", conn);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var env = Environment.GetEnvironmentVariable("ANNOTATE_TEST_PG");
        if (!string.IsNullOrWhiteSpace(env)) return new PostgresServer(env);

        var dir = Path.Combine(Path.GetTempPath(), "annotate-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_111);
        var port = FreePort();
        var asRoot = Environment.UserName == "root";
        await RunAsync(asRoot, "initdb", $"-D {dir}/data -A trust -U postgres");
        await RunAsync(asRoot, "pg_ctl", $"-D {dir}/data -o \"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=400\" -l {dir}/log -w start");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            Process.Start(new ProcessStartInfo(asRoot ? "runuser" : "pg_ctl", (asRoot ? "-u postgres -- pg_ctl " : "") + $"-D {dir}/data -m immediate stop"))?.WaitForExit();
        return new PostgresServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres");
    }

    private static async Task RunAsync(bool asRoot, string tool, string args)
    {
        var psi = asRoot ? new ProcessStartInfo("runuser", $"-u postgres -- {tool} {args}") : new ProcessStartInfo(tool, args);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} failed: {await err}");
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}

/// <summary>Class fixture: a fresh database per test class, dropped at the end.</summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    private PostgresServer? _server;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.SharedAsync();
        ConnectionString = await _server.CreateDatabaseAsync("es");
    }

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DropDatabaseAsync(ConnectionString);
    }
}
