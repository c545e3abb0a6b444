using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Annotate.Postgres;

/// <summary>Settings of a PostgreSQL cluster that Annotate runs itself.</summary>
public sealed record EmbeddedPostgresOptions
{
    /// <summary>Folder owned by the embedded cluster: the cluster in <c>pgdata/</c>, its log, and <c>embedded.json</c> (port,
    /// password).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Folder with initdb/pg_ctl/postgres; found on the machine when null.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>TCP port on 127.0.0.1; 0 reuses the last one when free, or picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Database created (once) for the application.</summary>
    public string Database { get; init; } = "annotate";

    /// <summary>Extra server settings passed as <c>-c name=value</c> (e.g. fsync=off for throwaway test clusters).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The system user the cluster runs as. PostgreSQL refuses to run as root, so a root process
    /// runs it as <c>postgres</c>; otherwise it runs as the current user.
    /// </summary>
    public string? RunAsUser { get; init; } = Environment.IsPrivilegedProcess ? "postgres" : null;

    /// <summary>Default data folder: $XDG_DATA_HOME/annotate (~/.local/share/annotate); /var/lib/annotate for root, whose home the postgres
    /// user cannot enter.</summary>
    public static string DefaultDataDirectory()
    {
        if (Environment.IsPrivilegedProcess) return "/var/lib/annotate";
        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share")
            : xdg;
        return Path.Combine(root, "annotate");
    }
}

/// <summary>Raised when the embedded cluster cannot be started; the message says what to do.</summary>
public sealed class EmbeddedPostgresException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A PostgreSQL cluster in a folder of ours, on loopback. Start initializes it on first use, reuses it
/// afterwards (data survives restarts), adopts a postmaster left running by a killed process (never a
/// second postmaster on one folder), clears a postmaster.pid whose process is gone, and Stop shuts it
/// down cleanly. Unix only, as PostgreSQL's own tools are driven the way Debian installs them.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class EmbeddedPostgres : IAsyncDisposable
{
    private const string SuperUser = "annotate";
    private readonly EmbeddedPostgresOptions _options;
    private readonly string _bin;
    private readonly ILogger _logger;
    private int _stopped;

    private EmbeddedPostgres(EmbeddedPostgresOptions options, string bin, int port, string password, bool adopted, ILogger logger)
    {
        _options = options;
        _bin = bin;
        _logger = logger;
        Port = port;
        Adopted = adopted;
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = SuperUser,
            Password = password,
            Database = options.Database,
        };
        ConnectionString = builder.ConnectionString;
        builder.Database = "postgres";
        AdminConnectionString = builder.ConnectionString;
    }

    /// <summary>Connection string to the application database.</summary>
    public string ConnectionString { get; }

    /// <summary>Connection string to the maintenance database, as a superuser (creates and drops databases).</summary>
    public string AdminConnectionString { get; }

    public int Port { get; }

    /// <summary>True when a postmaster already running on the folder was taken over instead of started.</summary>
    public bool Adopted { get; }

    public string DataDirectory => _options.DataDirectory;

    private string ClusterDirectory => Path.Combine(_options.DataDirectory, "pgdata");

    public static async Task<EmbeddedPostgres> StartAsync(
        EmbeddedPostgresOptions options,
        ILogger? logger = null,
        CancellationToken ct = default)
    {
        logger ??= NullLogger.Instance;
        var bin = PostgresBinaries.Find(options.BinDirectory) ?? throw new EmbeddedPostgresException(PostgresBinaries.InstallHint);
        var dataDir = Path.GetFullPath(options.DataDirectory);
        options = options with { DataDirectory = dataDir };
        PrepareDirectory(dataDir, options.RunAsUser);

        var statePath = Path.Combine(dataDir, "embedded.json");
        var state = State.Load(statePath);
        var cluster = Path.Combine(dataDir, "pgdata");
        if (!File.Exists(Path.Combine(cluster, "PG_VERSION")))
        {
            state = new State(state?.Port ?? 0, NewPassword());
            state.Save(statePath);
            await InitDbAsync(bin, cluster, state.Password, options.RunAsUser, logger, ct);
        }
        else if (state is null)
        {
            throw new EmbeddedPostgresException(
                $"The cluster in {cluster} exists but {statePath} (its port and password) is missing. " +
                "Restore that file, or move the folder away to start with an empty database.");
        }

        int port;
        var adopted = false;
        if (RunningPostmaster(cluster) is { } running)
        {
            port = running.Port;
            adopted = true;
            Log.Adopting(logger, running.Pid, cluster, port);
        }
        else
        {
            port = options.Port != 0 ? options.Port : (state.Port != 0 && IsPortFree(state.Port) ? state.Port : FreePort());
            await StartPostmasterAsync(bin, options, cluster, port, logger, ct);
        }
        state = state with { Port = port };
        state.Save(statePath);

        var pg = new EmbeddedPostgres(options, bin, port, state.Password, adopted, logger);
        try
        {
            await pg.WaitUntilAcceptingAsync(ct);
            await pg.EnsureDatabaseAsync(options.Database, ct);
        }
        catch
        {
            await pg.StopAsync();
            throw;
        }
        Log.Ready(logger, cluster, port, options.Database);
        return pg;
    }

    /// <summary>Stops the cluster (fast shutdown: open sessions are ended, committed data is kept). Idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        NpgsqlConnection.ClearAllPools();
        var postmaster = PostmasterPid(ClusterDirectory);
        var (code, output) = await RunAsync(
            _bin,
            "pg_ctl",
            ["-D", ClusterDirectory, "-m", "fast", "-w", "-t", "60", "stop"],
            _options.RunAsUser,
            CancellationToken.None);
        // pg_ctl returns once postmaster.pid is gone, which the postmaster removes just before it exits;
        // "stopped" here means the process is gone too, so a caller never sees it linger.
        if (code == 0 && postmaster is { } pid) await WaitUntilGoneAsync(pid, TimeSpan.FromSeconds(30));
        if (code == 0) Log.Stopped(_logger, ClusterDirectory);
        else Log.StopFailed(_logger, ClusterDirectory, output.Trim());
    }

    private static int? PostmasterPid(string cluster)
    {
        try
        {
            var first = File.ReadLines(Path.Combine(cluster, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first?.Trim(), out var pid) ? pid : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static async Task WaitUntilGoneAsync(int pid, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (IsLivePostgres(pid) && DateTime.UtcNow < deadline) await Task.Delay(20);
    }

    /// <summary>True while <paramref name="pid"/> is a postgres process that has not exited (a zombie awaiting its reaper counts as
    /// exited).</summary>
    private static bool IsLivePostgres(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat"); // "pid (comm) state ..."
            var close = stat.LastIndexOf(')');
            var comm = stat[(stat.IndexOf('(') + 1)..close];
            var state = stat[close + 2];
            return comm.StartsWith("postgres", StringComparison.Ordinal) && state is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    private async Task WaitUntilAcceptingAsync(CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var admin = new NpgsqlConnectionStringBuilder(AdminConnectionString) { Pooling = false, Timeout = 5 }.ConnectionString;
        while (true)
        {
            try
            {
                await using var conn = new NpgsqlConnection(admin);
                await conn.OpenAsync(ct);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or PostgresException && DateTime.UtcNow < deadline)
            {
                // Starting up or recovering after a crash: PostgreSQL answers 57P03 until ready.
                await Task.Delay(100, ct);
            }
        }
    }

    private async Task EnsureDatabaseAsync(string database, CancellationToken ct)
    {
        await using var conn = new NpgsqlConnection(
            new NpgsqlConnectionStringBuilder(AdminConnectionString) { Pooling = false }.ConnectionString);
        await conn.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", conn)
        {
            Parameters = { new() { Value = database } },
        };
        if (await exists.ExecuteScalarAsync(ct) is not null)
            return;
        try
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database.Replace("\"", "\"\"")}\"", conn);
            await create.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Another process created it at the same moment.
        }
    }

    private static async Task InitDbAsync(string bin, string cluster, string password, string? runAs, ILogger logger, CancellationToken ct)
    {
        Log.Initializing(logger, cluster);
        var pwfile = Path.Combine(Path.GetDirectoryName(cluster)!, ".initdb-password");
        await File.WriteAllTextAsync(pwfile, password + "\n", ct);
        try
        {
            File.SetUnixFileMode(pwfile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (runAs is not null) await ChownAsync(pwfile, runAs, ct);
            var (code, output) = await RunAsync(bin, "initdb",
                ["-D", cluster, "-U", SuperUser, "--pwfile", pwfile, "-E", "UTF8", "--no-locale",
                 "--auth-local=peer", "--auth-host=scram-sha-256"], runAs, ct);
            if (code != 0)
            {
                TryDelete(cluster);
                throw new EmbeddedPostgresException($"initdb failed for {cluster} (exit {code}): {output.Trim()}");
            }
        }
        finally
        {
            File.Delete(pwfile);
        }
    }

    private static async Task StartPostmasterAsync(
        string bin,
        EmbeddedPostgresOptions options,
        string cluster,
        int port,
        ILogger logger,
        CancellationToken ct)
    {
        var settings = string.Join(' ', options.Settings.Select(kv => $"-c {kv.Key}={kv.Value}"));
        var log = Path.Combine(options.DataDirectory, "postgres.log");
        var serverArgs = $"-p {port} -k {cluster} -c listen_addresses=127.0.0.1 {settings}".Trim();
        var (code, output) = await RunAsync(
            bin,
            "pg_ctl",
            ["-D", cluster, "-l", log, "-w", "-t", "60", "-o", serverArgs, "start"],
            options.RunAsUser,
            ct);
        if (code != 0)
        {
            var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(5)) : "";
            throw new EmbeddedPostgresException(
                $"PostgreSQL did not start on port {port} (pg_ctl exit {code}): {output.Trim()}\n{tail}".Trim());
        }
        Log.Started(logger, cluster, port);
    }

    /// <summary>The postmaster recorded in postmaster.pid when it is still alive; a stale file is removed.</summary>
    private static (int Pid, int Port)? RunningPostmaster(string cluster)
    {
        var pidFile = Path.Combine(cluster, "postmaster.pid");
        if (!File.Exists(pidFile)) return null;
        string[] lines;
        try { lines = File.ReadAllLines(pidFile); }
        catch (FileNotFoundException) { return null; }
        // postmaster.pid: line 1 pid, line 2 data dir, line 3 start time, line 4 port.
        if (lines.Length >= 4 && int.TryParse(lines[0].Trim(), out var pid) && int.TryParse(lines[3].Trim(), out var port)
            && IsPostgresProcess(pid))
        {
            return (pid, port);
        }
        File.Delete(pidFile);
        // The socket lock files of a dead postmaster are as stale as its pid file; PostgreSQL refuses to start while
        // the pid they name exists, and a killed postmaster not yet reaped by its parent still does (as a zombie).
        foreach (var socketLock in Directory.EnumerateFiles(cluster, ".s.PGSQL.*.lock"))
        {
            try
            {
                if (int.TryParse(File.ReadLines(socketLock).FirstOrDefault()?.Trim(), out var owner) && !IsPostgresProcess(owner))
                    File.Delete(socketLock);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }

    private static bool IsPostgresProcess(int pid)
    {
        try
        {
            var comm = File.ReadAllText($"/proc/{pid}/comm").Trim();
            if (!comm.StartsWith("postgres", StringComparison.Ordinal)) return false;
            // A killed postmaster whose parent has not reaped it yet keeps its entry as a zombie ("Z" after the
            // name in /proc/<pid>/stat): it is dead, and its lock file is stale.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var afterName = stat.LastIndexOf(')');
            return afterName < 0 || afterName + 2 >= stat.Length || stat[afterName + 2] != 'Z';
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return true; } // exists, owned by someone else
    }

    private static void PrepareDirectory(string dataDir, string? runAs)
    {
        if (!Directory.Exists(dataDir))
        {
            Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        if (runAs is null) return;
        // The cluster's user must reach the folder: every parent needs search permission for others.
        for (var dir = Path.GetDirectoryName(dataDir); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            if ((File.GetUnixFileMode(dir) & UnixFileMode.OtherExecute) == 0)
            {
                throw new EmbeddedPostgresException(
                    $"The user '{runAs}' cannot enter {dir} (a parent of the data folder {dataDir}). " +
                    $"Choose another --data-dir, or allow it: chmod o+x {dir}");
            }
        }
        var (code, output) = RunAsync("/", "chown", ["-R", $"{runAs}:", dataDir], null, CancellationToken.None).GetAwaiter().GetResult();
        if (code != 0)
        {
            throw new EmbeddedPostgresException($"Could not give {dataDir} to the user '{runAs}': {output.Trim()}. Does that user exist? " +
                                                $"(Debian: apt-get install postgresql creates it.)");
        }
    }

    private static Task ChownAsync(string path, string user, CancellationToken ct) =>
        RunAsync("/", "chown", [$"{user}:", path], null, ct);

    private static async Task<(int Code, string Output)> RunAsync(
        string bin,
        string program,
        IReadOnlyList<string> args,
        string? runAs,
        CancellationToken ct)
    {
        var exe = program == "chown" ? "chown" : Path.Combine(bin, program);
        var psi = runAs is null ? new ProcessStartInfo(exe) : new ProcessStartInfo("runuser");
        if (runAs is not null)
        {
            psi.ArgumentList.Add("-u");
            psi.ArgumentList.Add(runAs);
            psi.ArgumentList.Add("--");
            psi.ArgumentList.Add(exe);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        psi.WorkingDirectory = "/";
        using var p = Process.Start(psi) ?? throw new EmbeddedPostgresException($"Could not run {exe}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        return (p.ExitCode, (await stdout) + (await stderr));
    }

    private static string NewPassword() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsPortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>What survives between starts beside the cluster: the superuser password and the last port.</summary>
    private sealed record State(int Port, string Password)
    {
        public static State? Load(string path) =>
            File.Exists(path) ? JsonSerializer.Deserialize<State>(File.ReadAllText(path)) : null;

        public void Save(string path)
        {
            var tmp = path + ".tmp";
            File.WriteAllText(tmp, JsonSerializer.Serialize(this));
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(tmp, path, overwrite: true);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Initializing a new PostgreSQL cluster in {Cluster}")]
        public static partial void Initializing(ILogger logger, string cluster);

        [LoggerMessage(2, LogLevel.Information, "Started PostgreSQL for {Cluster} on 127.0.0.1:{Port}")]
        public static partial void Started(ILogger logger, string cluster, int port);

        [LoggerMessage(
            3,
            LogLevel.Warning,
            "PostgreSQL (pid {Pid}) is still running on {Cluster} (port {Port}) from an earlier run; using it")]
        public static partial void Adopting(ILogger logger, int pid, string cluster, int port);

        [LoggerMessage(4, LogLevel.Information, "PostgreSQL {Cluster} accepts connections on 127.0.0.1:{Port}, database {Database}")]
        public static partial void Ready(ILogger logger, string cluster, int port, string database);

        [LoggerMessage(5, LogLevel.Information, "Stopped PostgreSQL {Cluster}")]
        public static partial void Stopped(ILogger logger, string cluster);

        [LoggerMessage(6, LogLevel.Error, "Stopping PostgreSQL {Cluster} failed: {Output}")]
        public static partial void StopFailed(ILogger logger, string cluster, string output);
    }
}
