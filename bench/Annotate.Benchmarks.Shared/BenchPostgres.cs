using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Annotate.Postgres;
using Npgsql;

namespace Annotate.Benchmarks;

/// <summary>One pgbench run: transactions per second (without connection time), transactions done, mean latency.</summary>
public sealed record PgbenchRun(double TransactionsPerSecond, long Transactions, double LatencyAverageMs);

/// <summary>What pg_stat_database counts for one database, at one moment.</summary>
public readonly record struct DatabaseCounters(long Transactions, long RowsRead)
{
    public static DatabaseCounters operator -(DatabaseCounters a, DatabaseCounters b) =>
        new(a.Transactions - b.Transactions, a.RowsRead - b.RowsRead);
}

/// <summary>
/// The PostgreSQL everything of one benchmark run uses: a cluster given by an admin connection string
/// (--pg or ANNOTATE_BENCH_PG), or else a throwaway cluster from the embedded launcher with PostgreSQL's durable
/// defaults (fsync and synchronous_commit on), deleted at the end. Each scenario gets a database of its own.
/// </summary>
public sealed partial class BenchPostgres : IAsyncDisposable
{
    private readonly EmbeddedPostgres? _embedded;
    private readonly string? _dataDir;

    private BenchPostgres(string adminConnectionString, EmbeddedPostgres? embedded, string? dataDir)
    {
        AdminConnectionString = adminConnectionString;
        _embedded = embedded;
        _dataDir = dataDir;
    }

    /// <summary>A role that may create databases, on the maintenance database.</summary>
    public string AdminConnectionString { get; }

    public string Description { get; private set; } = "";

    /// <summary>The postmaster's pid when PostgreSQL runs on this machine (its CPU time is then measured), else null.</summary>
    public int? Postmaster { get; private set; }

    /// <summary>CPU time of the postmaster and its processes by pid; empty when PostgreSQL is not on this machine.</summary>
    public Dictionary<int, TimeSpan> CpuTimes() => Postmaster is { } pid ? ProcStat.FamilyCpuTimes(pid) : [];

    public static async Task<BenchPostgres> StartAsync(string? given)
    {
        BenchPostgres pg;
        if (!string.IsNullOrWhiteSpace(given))
        {
            pg = new BenchPostgres(given, null, null);
        }
        else
        {
            var dir = Path.Combine(Path.GetTempPath(), $"annotate-e2e-pg-{Guid.NewGuid():N}"[..28]);
            var embedded = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
            {
                DataDirectory = dir,
                Database = "postgres",
                // 500 subscribers make a server hold up to its whole pool (Npgsql's default: 100): leave room for the
                // benchmark's own sessions and a second build's server draining.
                Settings = new Dictionary<string, string> { ["max_connections"] = "300", ["shared_buffers"] = "256MB" },
            });
            pg = new BenchPostgres(embedded.AdminConnectionString, embedded, dir);
        }
        pg.Description = await pg.DescribeAsync(given is null ? "throwaway cluster" : "given cluster");
        return pg;
    }

    private async Task<string> DescribeAsync(string kind)
    {
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        var parts = new List<string> { kind, "PostgreSQL " + conn.PostgreSqlVersion.ToString() };
        // A backend is a child of the postmaster: visible in /proc when the cluster runs here (a remote one is not).
        await using (var backend = new NpgsqlCommand("SELECT pg_backend_pid()", conn))
        {
            var pid = (int)(await backend.ExecuteScalarAsync())!;
            if (
                ProcStat.ParentOf(pid) is { } parent
                && File.Exists($"/proc/{parent}/stat")
                && File.ReadAllText($"/proc/{parent}/comm").StartsWith("postgres", StringComparison.Ordinal))
            {
                Postmaster = parent;
            }
        }
        foreach (var setting in new[] { "fsync", "synchronous_commit", "shared_buffers", "max_connections" })
        {
            await using var cmd = new NpgsqlCommand($"SHOW {setting}", conn);
            parts.Add($"{setting}={await cmd.ExecuteScalarAsync()}");
        }
        return string.Join(", ", parts);
    }

    /// <summary>Creates an empty database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)];
        await ExecAsync(AdminConnectionString, $"CREATE DATABASE \"{name}\"");
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    public async Task DropDatabaseAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using (var pooled = new NpgsqlConnection(connectionString)) NpgsqlConnection.ClearPool(pooled);
        await ExecAsync(AdminConnectionString, $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    }

    /// <summary>
    /// Transactions (xact_commit + xact_rollback) and rows read (tup_returned + tup_fetched) of a database so far,
    /// asked from the maintenance database so the question itself is not counted. Backends report to the
    /// statistics at most once a second, so a window under load is off by up to a second's work at either end.
    /// </summary>
    public async Task<DatabaseCounters> CountersAsync(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT xact_commit + xact_rollback, tup_returned + tup_fetched FROM pg_stat_database WHERE datname = $1", conn)
        {
            Parameters = { new() { Value = name } },
        };
        await using var reader = await cmd.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) throw new InvalidOperationException($"pg_stat_database has no row for {name}");
        return new DatabaseCounters(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>
    /// pgbench inserting one row per transaction into a one-column table, from <paramref name="clients"/> clients
    /// for <paramref name="seconds"/>, on a fresh database of this cluster. Returns transactions per second.
    /// </summary>
    public async Task<double> PgbenchInsertAsync(int clients, double seconds)
    {
        var cs = await CreateDatabaseAsync("pgbench");
        try
        {
            await ExecAsync(cs, "CREATE TABLE one_row_per_insert (id bigserial PRIMARY KEY, payload text NOT NULL)");
            var run = await PgbenchAsync(cs, "INSERT INTO one_row_per_insert (payload) VALUES ('a short event payload');\n", clients, seconds);
            return run.TransactionsPerSecond;
        }
        finally
        {
            await DropDatabaseAsync(cs);
        }
    }

    /// <summary>
    /// Runs <paramref name="script"/> (a pgbench custom script) with <c>pgbench -n -M prepared -c clients -j cores -T
    /// seconds</c> against the database of <paramref name="connectionString"/>; its connections are closed when it returns.
    /// </summary>
    public static async Task<PgbenchRun> PgbenchAsync(string connectionString, string script, int clients, double seconds)
    {
        var file = Path.Combine(Path.GetTempPath(), $"annotate-pgbench-{Guid.NewGuid():N}.sql");
        try
        {
            await File.WriteAllTextAsync(file, script);
            var b = new NpgsqlConnectionStringBuilder(connectionString);
            var bin = PostgresBinaries.Find();
            var pgbench = bin is null ? "pgbench" : Path.Combine(bin, "pgbench");
            var psi = new ProcessStartInfo(pgbench)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (
                var a in new[]
                {
                    "-n",
                    "-M",
                    "prepared",
                    "-c",
                    clients.ToString(CultureInfo.InvariantCulture),
                    "-j",
                    Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
                    "-T",
                    Math.Max(1, (int)Math.Round(seconds)).ToString(CultureInfo.InvariantCulture),
                    "-f",
                    file,
                    "-h",
                    b.Host!,
                    "-p",
                    b.Port.ToString(CultureInfo.InvariantCulture),
                    "-U",
                    b.Username!,
                    b.Database!,
                })
            {
                psi.ArgumentList.Add(a);
            }
            if (!string.IsNullOrEmpty(b.Password)) psi.Environment["PGPASSWORD"] = b.Password;
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start pgbench");
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            var output = await stdout;
            var tps = TpsLine().Match(output);
            var processed = ProcessedLine().Match(output);
            var latency = LatencyLine().Match(output);
            if (p.ExitCode != 0 || !tps.Success || !processed.Success)
                throw new InvalidOperationException($"pgbench failed ({p.ExitCode}): {output}\n{await stderr}");
            return new PgbenchRun(
                double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture),
                long.Parse(processed.Groups[1].Value, CultureInfo.InvariantCulture),
                latency.Success ? double.Parse(latency.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex ProcessedLine();

    [GeneratedRegex(@"latency average = ([0-9.]+) ms")]
    private static partial Regex LatencyLine();

    /// <summary>
    /// Waits until no session is connected to the database of <paramref name="connectionString"/> (at most
    /// <paramref name="timeout"/>); returns whether none is. A backend reports its last counts to the statistics when
    /// it exits, so <see cref="CountersAsync"/> read after this is exact for everything those sessions did.
    /// </summary>
    public async Task<bool> WaitForNoSessionsAsync(string connectionString, TimeSpan timeout)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var conn = new NpgsqlConnection(AdminConnectionString);
        await conn.OpenAsync();
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", conn)
            {
                Parameters = { new() { Value = name } },
            };
            if ((long)(await cmd.ExecuteScalarAsync())! == 0) return true;
            if (DateTime.UtcNow > until) return false;
            await Task.Delay(20);
        }
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsLine();

    /// <summary>Runs one statement on a connection of its own (not pooled).</summary>
    public static async Task ExecAsync(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is null) return;
        await _embedded.StopAsync();
        try { Directory.Delete(_dataDir!, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
