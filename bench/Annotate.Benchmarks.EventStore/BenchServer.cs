using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Annotate.Benchmarks.EventStore;

/// <summary>The PostgreSQL under test: ANNOTATE_BENCH_PG, or a throwaway cluster (durable defaults: fsync and synchronous_commit
/// on).</summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly string? _dataDir;
    private readonly bool _asRoot;

    private BenchServer(string connectionString, string? dataDir, bool asRoot)
    {
        ConnectionString = connectionString;
        _dataDir = dataDir;
        _asRoot = asRoot;
    }

    public string ConnectionString { get; }

    public string Describe() => _dataDir is null ? "ANNOTATE_BENCH_PG" : $"throwaway cluster in {_dataDir}";

    public static async Task<BenchServer> StartAsync()
    {
        var env = Environment.GetEnvironmentVariable("ANNOTATE_BENCH_PG");
        if (!string.IsNullOrWhiteSpace(env)) return new BenchServer(env, null, false);
        var dir = Path.Combine(Path.GetTempPath(), "annotate-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_111);
        var asRoot = Environment.UserName == "root";
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; }
        await RunAsync(asRoot, "initdb", $"-D {dir}/data -A trust -U postgres");
        await RunAsync(asRoot, "pg_ctl", $"-D {dir}/data -o \"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB\" -l {dir}/log -w start");
        return new BenchServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres", dir, asRoot);
    }

    public async Task DropSchemaAsync(string schema)
    {
        await using var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP SCHEMA \"{schema}\" CASCADE", conn);
        await cmd.ExecuteNonQueryAsync();
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

    public async ValueTask DisposeAsync()
    {
        if (_dataDir is null) return;
        NpgsqlConnection.ClearAllPools();
        await RunAsync(_asRoot, "pg_ctl", $"-D {_dataDir}/data -m fast stop");
        Directory.Delete(_dataDir, recursive: true);
    }
}
