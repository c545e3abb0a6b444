using System.Diagnostics;
using System.Globalization;
using Annotate.Postgres;
using Npgsql;

namespace Annotate.Testing;

/// <summary>
/// A PostgreSQL primary and a physical streaming replica of it (hot standby), both clusters of the machine's PostgreSQL
/// in a temp folder on loopback: the primary as the server's embedded cluster runs, the replica made by
/// <c>pg_basebackup -R</c> (which writes <c>standby.signal</c> and <c>primary_conninfo</c>) and started with
/// <c>pg_ctl</c> on a port of its own, as the <c>postgres</c> user when the tests run as root. The replica can be paused
/// (replay stops, so it lags), resumed, stopped and started. Both are stopped and the folder deleted on dispose, or by
/// the reaper if the test host dies.
/// </summary>
public sealed class StreamingReplica : IAsyncDisposable
{
    private readonly string _folder;
    private readonly string _bin;
    private readonly string? _runAs;
    private EmbeddedPostgres? _primary;

    private StreamingReplica(string folder, string bin)
    {
        _folder = folder;
        _bin = bin;
        _runAs = Environment.IsPrivilegedProcess ? "postgres" : null;
    }

    /// <summary>The primary's application database (a superuser: it may pause the replica's replay).</summary>
    public string PrimaryConnectionString => (_primary ?? throw new InvalidOperationException("not started")).ConnectionString;

    /// <summary>The same database on the replica.</summary>
    public string ReplicaConnectionString { get; private set; } = "";

    public int ReplicaPort { get; private set; }

    private string ReplicaData => Path.Combine(_folder, "replica");

    public static async Task<StreamingReplica> StartAsync()
    {
        var bin = PostgresBinaries.Find() ?? throw new EmbeddedPostgresException(PostgresBinaries.InstallHint);
        var folder = Path.Combine(Path.GetTempPath(), $"annotate-standby-{Guid.NewGuid():N}"[..32]);
        var pair = new StreamingReplica(folder, bin);
        var runAs = pair._runAs is null ? "" : $"runuser -u {pair._runAs} -- ";
        Reaper.Start(
            $"{runAs}'{bin}/pg_ctl' -D '{pair.ReplicaData}' -m immediate -w -t 30 stop; " +
            $"{runAs}'{bin}/pg_ctl' -D '{folder}/primary/pgdata' -m immediate -w -t 30 stop; rm -rf '{folder}'");
        Directory.CreateDirectory(folder);
        if (pair._runAs is not null) await RunAsync("chown", [$"{pair._runAs}:", folder], null);
        pair._primary = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(folder, "primary"),
            // A throwaway pair: durability buys nothing here. wal_level=replica and max_wal_senders are the defaults.
            Settings = new Dictionary<string, string> { ["fsync"] = "off" },
        });
        var primary = new NpgsqlConnectionStringBuilder(pair._primary.ConnectionString);
        var source = $"host=127.0.0.1 port={primary.Port} user={primary.Username} password={primary.Password}";
        await pair.PgAsync("pg_basebackup", ["-d", source, "-D", pair.ReplicaData, "-R", "-X", "stream", "-c", "fast"]);
        pair.ReplicaPort = ServerProcess.FreePort();
        pair.ReplicaConnectionString = new NpgsqlConnectionStringBuilder(pair._primary.ConnectionString) { Port = pair.ReplicaPort }
            .ConnectionString;
        await pair.StartReplicaAsync();
        TestLog.Say($"PostgreSQL primary on port {primary.Port}, streaming replica on port {pair.ReplicaPort}");
        return pair;
    }

    /// <summary>Starts the replica (again) and waits until it accepts connections.</summary>
    public Task StartReplicaAsync() =>
        PgAsync("pg_ctl", ["-D", ReplicaData, "-l", Path.Combine(_folder, "replica.log"), "-w", "-t", "60", "-o",
            $"-p {ReplicaPort} -k {ReplicaData} -c listen_addresses=127.0.0.1", "start"]);

    /// <summary>Stops the replica (fast shutdown: its sessions end at once).</summary>
    public Task StopReplicaAsync() => PgAsync("pg_ctl", ["-D", ReplicaData, "-m", "fast", "-w", "-t", "60", "stop"]);

    /// <summary>Stops replaying the primary's WAL: from now on the replica answers as of the last transaction it applied.</summary>
    public async Task PauseReplayAsync()
    {
        await ReplicaSqlAsync("SELECT pg_wal_replay_pause()");
        // The request takes effect at the next record; only 'paused' promises no further replay.
        await UntilAsync(async () => await ReplicaSqlAsync("SELECT pg_get_wal_replay_pause_state()") as string == "paused");
    }

    public Task ResumeReplayAsync() => ReplicaSqlAsync("SELECT pg_wal_replay_resume()");

    /// <summary>Waits until the replica has replayed everything the primary has written so far.</summary>
    public async Task CaughtUpAsync()
    {
        await using var primary = new NpgsqlConnection(PrimaryConnectionString);
        await primary.OpenAsync();
        await using var lsn = new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", primary);
        var written = (string)(await lsn.ExecuteScalarAsync())!;
        await UntilAsync(async () =>
            await ReplicaSqlAsync($"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn") is true);
    }

    public async Task<object?> ReplicaSqlAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(ReplicaConnectionString) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return await cmd.ExecuteScalarAsync();
    }

    /// <summary>
    /// Checks a condition of the replica until it holds (at most a minute). The replica's replay gives no signal a test
    /// could wait on, so this asks again every 20 ms.
    /// </summary>
    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > TimeSpan.FromMinutes(1)) throw new TimeoutException("The replica did not get there within a minute.");
            await Task.Delay(20);
        }
    }

    private async Task PgAsync(string tool, IReadOnlyList<string> args)
    {
        var (exe, all) = _runAs is null
            ? (Path.Combine(_bin, tool), args)
            : ("runuser", (IReadOnlyList<string>)["-u", _runAs, "--", Path.Combine(_bin, tool), .. args]);
        await RunAsync(exe, all, _folder);
    }

    private static async Task RunAsync(string exe, IReadOnlyList<string> args, string? workingDirectory)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "/",
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {exe}.");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode == 0) return;
        var shown = string.Join(' ', args.Where(a => !a.Contains("password", StringComparison.Ordinal)));
        throw new InvalidOperationException(
            $"{exe} {shown} exited with {p.ExitCode.ToString(CultureInfo.InvariantCulture)}: {await stdout}{await stderr}");
    }

    public async ValueTask DisposeAsync()
    {
        try { await PgAsync("pg_ctl", ["-D", ReplicaData, "-m", "immediate", "-w", "-t", "30", "stop"]); }
        catch (InvalidOperationException) { } // already stopped
        if (_primary is not null) await _primary.StopAsync();
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
