using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Annotate.Postgres;
using Annotate.Server.Infrastructure;
using Npgsql;

namespace Annotate.Server.Hosting;

/// <summary>
/// <c>annotate-server backup --output FILE</c> and <c>annotate-server restore FILE</c>, run instead of the server, on the
/// database the server would use (the same settings: <c>ConnectionStrings:Annotate</c>, or the embedded cluster of the data
/// folder; <c>Annotate:Schema</c>).
/// <para>
/// A backup is PostgreSQL's own <c>pg_dump</c> of the whole schema (every table, sequence and function in it, whoever created
/// them: the event store's tables and the document store's), in the custom format. pg_dump reads everything in one
/// repeatable-read transaction, so the snapshot is consistent while the server keeps writing: every event of it was committed
/// before the snapshot, with its audit links and the views' rows and checkpoints of the same moment.
/// </para>
/// <para>
/// A restore is <c>pg_restore</c> in one transaction (all or nothing) into a database whose schema holds no tables yet;
/// a database where it holds any is refused, so a restore never mixes two histories. An empty schema created beforehand
/// (with the owner and grants an administrator chose) is kept.
/// </para>
/// Exit codes: 0 done; 1 refused or failed (the message says why); 2 the command line, the settings, the programs or the
/// database cannot be used.
/// </summary>
public static partial class Backup
{
    public const string Usage =
        """
        Usage:
          annotate-server backup --output <file> [settings]   pg_dump of the schema, consistent while the server runs
          annotate-server restore <file> [settings]           into a database whose schema holds no tables
        Settings as for the server: --ConnectionStrings:Annotate=<connection string> (else the embedded PostgreSQL of
        --data-dir), --Annotate:Schema=<name> (default annotate), --Annotate:PostgresBinDir=<dir> (where pg_dump and
        pg_restore are; else PATH, then the newest /usr/lib/postgresql/*/bin).
        """;

    public static bool IsCommand(string[] args) => args is ["backup" or "restore", ..];

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            var (command, file, settings) = Parse(args);
            if (command is null)
            {
                Console.WriteLine(Usage);
                return 0;
            }
            var configuration = new ConfigurationBuilder()
                .AddEnvironmentVariables()
                .AddCommandLine(settings, new Dictionary<string, string> { ["--data-dir"] = "Annotate:DataDir" })
                .Build();
            var server = ServerOptions.From(configuration);
            var schema = EventStoreSettings.From(configuration, server).Schema;
            return command == "backup"
                ? await BackupAsync(server, schema, file)
                : await RestoreAsync(server, schema, file);
        }
        catch (BackupException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return e.ExitCode;
        }
        catch (Exception e) when (e is EmbeddedPostgresException
            or DatabaseUnavailableException
            or InvalidOperationException
            or NpgsqlException)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }
    }

    private static async Task<int> BackupAsync(ServerOptions server, string schema, string output)
    {
        var pgDump = FindProgram("pg_dump", server.PostgresBinDirectory);
        await using var database = await Database.OpenAsync(server, mustExist: true);
        await using (var conn = await database.DataSource.OpenConnectionAsync())
        {
            if (await TableCountAsync(conn, schema) is null)
                throw new BackupException(1, $"{database.Description} has no schema \"{schema}\" (Annotate:Schema): nothing to back up.");
            var clientMajor = await MajorVersionAsync(pgDump);
            if (clientMajor < conn.PostgreSqlVersion.Major)
            {
                throw new BackupException(2,
                    $"{pgDump} is version {clientMajor}, older than the database's PostgreSQL {conn.PostgreSqlVersion.Major}: pg_dump " +
                    "must be at least the server's major version. Install its client programs and name their folder with " +
                    "Annotate:PostgresBinDir.");
            }
        }

        // Written beside the target and renamed when complete: a failed backup never leaves a truncated file under its name.
        var target = Path.GetFullPath(output);
        var partial = target + ".partial";
        // Readable by this user only, as the data folder is: it holds every event, token hashes included. pg_dump keeps the
        // mode of the file it writes into.
        try
        {
            File.Create(partial).Dispose();
            File.SetUnixFileMode(partial, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BackupException(2, $"Cannot write the backup to {target}: {e.Message}");
        }
        var (code, _, errors) = await RunAsync(pgDump, database.ConnectionString,
            ["--format=custom", $"--schema={Pattern(schema)}", $"--file={partial}", "--no-password", $"--dbname={database.Conninfo}"]);
        if (code != 0)
        {
            File.Delete(partial);
            throw new BackupException(1, $"pg_dump of schema \"{schema}\" at {database.Description} failed (exit {code}):\n{errors}");
        }
        File.Move(partial, target, overwrite: true);
        Console.WriteLine($"Backed up schema \"{schema}\" of {database.Description} to {target} ({new FileInfo(target).Length} bytes).");
        return 0;
    }

    private static async Task<int> RestoreAsync(ServerOptions server, string schema, string input)
    {
        var pgRestore = FindProgram("pg_restore", server.PostgresBinDirectory);
        if (!File.Exists(input)) throw new BackupException(2, $"No backup file at {Path.GetFullPath(input)}.");

        var (listed, contents, listErrors) = await RunAsync(pgRestore, null, ["--list", input]);
        if (listed != 0) throw new BackupException(1, $"{input} is not a backup pg_restore can read:\n{listErrors}");
        var toc = contents.Split('\n');
        var schemas = toc.Select(l => SchemaEntry().Match(l)).Where(m => m.Success).Select(m => m.Groups["name"].Value).ToList();
        if (!schemas.Contains(schema))
        {
            throw new BackupException(1,
                $"{input} holds schema {(schemas.Count == 0 ? "none" : string.Join(", ", schemas.Select(s => $"\"{s}\"")))}, not " +
                $"\"{schema}\" (Annotate:Schema): restore with the setting the backup was made with.");
        }

        await using var database = await Database.OpenAsync(server, mustExist: false);
        int? tables;
        await using (var conn = await database.DataSource.OpenConnectionAsync()) tables = await TableCountAsync(conn, schema);
        if (tables > 0)
        {
            throw new BackupException(1,
                $"Refused: schema \"{schema}\" of {database.Description} already holds {tables} table(s). A restore goes into an " +
                "empty database (or one without that schema), so that it never mixes two histories.");
        }

        // An existing empty schema is kept (its owner and grants stay as an administrator made them): its entry is left out.
        var list = Path.GetTempFileName();
        try
        {
            await File.WriteAllLinesAsync(list, tables is null ? toc : toc.Select(l => SchemaEntry().IsMatch(l) ? ";" + l : l));
            var (code, _, errors) = await RunAsync(pgRestore, database.ConnectionString,
                ["--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges", "--no-password", $"--use-list={list}",
                    $"--dbname={database.Conninfo}", input]);
            if (code != 0)
            {
                throw new BackupException(
                    1, $"pg_restore into {database.Description} failed (exit {code}); nothing was restored:\n{errors}");
            }
        }
        finally
        {
            File.Delete(list);
        }
        Console.WriteLine($"Restored schema \"{schema}\" into {database.Description} from {Path.GetFullPath(input)}.");
        return 0;
    }

    /// <summary>Tables in <paramref name="schema"/>; null when there is no such schema.</summary>
    private static async Task<int?> TableCountAsync(NpgsqlConnection conn, string schema)
    {
        await using var cmd = new NpgsqlCommand(
            "SELECT (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p'))::int " +
            "FROM pg_namespace n WHERE n.nspname = @schema", conn);
        cmd.Parameters.AddWithValue("schema", schema);
        return await cmd.ExecuteScalarAsync() is int count ? count : null;
    }

    /// <summary>A pg_dump name pattern matching exactly <paramref name="name"/> (quoted: case kept, * and ? literal).</summary>
    private static string Pattern(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    /// <summary>A schema's line in <c>pg_restore --list</c>: "id; catalog-oid oid SCHEMA - name owner".</summary>
    [GeneratedRegex(@"^\d+; \d+ \d+ SCHEMA - (?<name>\S+) ")]
    private static partial Regex SchemaEntry();

    /// <summary>
    /// A PostgreSQL client program: in <c>Annotate:PostgresBinDir</c> when set (not second-guessed), else on PATH, else in the
    /// newest <c>/usr/lib/postgresql/*/bin</c> (Debian's layout).
    /// </summary>
    private static string FindProgram(string name, string? binDirectory)
    {
        IEnumerable<string> candidates = binDirectory is not null
            ? [binDirectory]
            : [
                .. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries),
                .. Directory.Exists("/usr/lib/postgresql")
                    ? Directory.GetDirectories("/usr/lib/postgresql")
                        .Select(d => (Dir: d, Version: int.TryParse(Path.GetFileName(d), out var v) ? v : -1))
                        .Where(d => d.Version >= 0)
                        .OrderByDescending(d => d.Version)
                        .Select(d => Path.Combine(d.Dir, "bin"))
                    : [],
            ];
        return candidates.Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists)
            ?? throw new BackupException(2,
                $"{name} was not found "
                + $"({(binDirectory is null ? "PATH, /usr/lib/postgresql/*/bin" : $"Annotate:PostgresBinDir={binDirectory}")}). " +
                "Install PostgreSQL's client programs (Debian/Ubuntu: `sudo apt-get install postgresql-client`) or name their " +
                "folder with Annotate:PostgresBinDir.");
    }

    private static async Task<int> MajorVersionAsync(string program)
    {
        // "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        var (_, version, _) = await RunAsync(program, null, ["--version"]);
        var match = Regex.Match(version, @"\) (\d+)");
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>Runs a client program; the password goes by PGPASSWORD, never on a command line others can read.</summary>
    private static async Task<(int Code, string Output, string Errors)> RunAsync(
        string program,
        string? connectionString,
        IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (connectionString is not null && new NpgsqlConnectionStringBuilder(connectionString).Password is { } password)
            psi.Environment["PGPASSWORD"] = password;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, (await stderr).Trim());
    }

    /// <summary>The command, its file, and the rest of the arguments (settings, as for the server). Command null: --help.</summary>
    private static (string? Command, string File, string[] Settings) Parse(string[] args)
    {
        var command = args[0];
        string? file = null;
        var settings = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            var a = args[i];
            if (a is "--help" or "-h") return (null, "", []);
            if (command == "backup" && a is "--output" or "-o")
            {
                file = i + 1 < args.Length ? args[++i] : throw new BackupException(2, $"--output needs a file.\n{Usage}");
            }
            else if (command == "backup" && a.StartsWith("--output=", StringComparison.Ordinal))
            {
                file = a["--output=".Length..];
            }
            else if (command == "restore" && file is null && !a.StartsWith('-'))
            {
                file = a;
            }
            else if (a.StartsWith("--", StringComparison.Ordinal))
            {
                settings.Add(a);
                // "--Key value" as well as "--Key=value", as the server's command line takes them.
                if (!a.Contains('=', StringComparison.Ordinal)
                    && i + 1 < args.Length
                    && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    settings.Add(args[++i]);
                }
            }
            else
            {
                throw new BackupException(2, $"Unexpected argument \"{a}\".\n{Usage}");
            }
        }
        if (string.IsNullOrWhiteSpace(file))
        {
            throw new BackupException(
                2, (command == "backup" ? "backup needs --output <file>." : "restore needs the backup file.") + $"\n{Usage}");
        }
        return (command, file, [.. settings]);
    }

    /// <summary>
    /// The database of the settings: the configured one, or the embedded cluster of the data folder. A cluster this command
    /// had to start is stopped again; one a running server owns is only used (adopted, never stopped).
    /// </summary>
    private sealed class Database : IAsyncDisposable
    {
        private EmbeddedPostgres? _startedHere;

        private Database(string connectionString, string description)
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "annotate-backup" };
            ConnectionString = builder.ConnectionString;
            Description = description;
            DataSource = NpgsqlDataSource.Create(builder.ConnectionString);
            Conninfo = ToConninfo(builder);
        }

        public string ConnectionString { get; }

        /// <summary>host:port/database; safe to print (no password).</summary>
        public string Description { get; }

        /// <summary>The same database as a libpq connection string (no password) for pg_dump and pg_restore.</summary>
        public string Conninfo { get; }

        public NpgsqlDataSource DataSource { get; }

        public static async Task<Database> OpenAsync(ServerOptions server, bool mustExist)
        {
            Database database;
            if (server.ConnectionString is { } configured)
            {
                NpgsqlConnectionStringBuilder builder;
                try { builder = new NpgsqlConnectionStringBuilder(configured); }
                catch (ArgumentException e)
                {
                    throw new BackupException(
                        2,
                        $"ConnectionStrings:{ServerOptions.ConnectionStringName} is not a valid Npgsql connection string: {e.Message}");
                }
                database = new Database(configured, $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}");
            }
            else
            {
                if (mustExist && !File.Exists(Path.Combine(server.DataDirectory, "pgdata", "PG_VERSION")))
                {
                    throw new BackupException(2,
                        $"No database in {server.DataDirectory} (the embedded PostgreSQL's data folder): nothing to back up. " +
                        "Name the server's database with ConnectionStrings:Annotate or its folder with --data-dir.");
                }
                var embedded = await EmbeddedPostgres.StartAsync(
                    new EmbeddedPostgresOptions { DataDirectory = server.DataDirectory, BinDirectory = server.PostgresBinDirectory });
                database = new Database(
                    embedded.ConnectionString,
                    $"127.0.0.1:{embedded.Port}/annotate (embedded, data in {embedded.DataDirectory})")
                {
                    _startedHere = embedded.Adopted ? null : embedded,
                };
            }
            try
            {
                await using var conn = await database.DataSource.OpenConnectionAsync();
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                await database.DisposeAsync();
                throw new BackupException(2, $"Cannot connect to PostgreSQL at {database.Description}: {e.Message}");
            }
            return database;
        }

        public async ValueTask DisposeAsync()
        {
            await DataSource.DisposeAsync();
            if (_startedHere is not null) await _startedHere.StopAsync();
        }

        private static string ToConninfo(NpgsqlConnectionStringBuilder b)
        {
            var parts = new List<(string, string?)>
            {
                ("host", b.Host),
                ("port", b.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("dbname", b.Database ?? b.Username),
                ("user", b.Username),
                ("application_name", b.ApplicationName),
                ("sslmode", b.SslMode switch
                {
                    SslMode.Disable => "disable",
                    SslMode.Allow => "allow",
                    SslMode.Require => "require",
                    SslMode.VerifyCA => "verify-ca",
                    SslMode.VerifyFull => "verify-full",
                    _ => "prefer",
                }),
                ("sslrootcert", b.RootCertificate),
            };
            var conninfo = new StringBuilder();
            foreach (var (key, value) in parts.Where(p => !string.IsNullOrEmpty(p.Item2)))
            {
                // libpq: a value in single quotes, with \ and ' escaped by a backslash.
                conninfo.Append(key)
                    .Append("='")
                    .Append(value!.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal))
                    .Append("' ");
            }
            return conninfo.ToString().TrimEnd();
        }
    }

    private sealed class BackupException(int exitCode, string message) : Exception(message)
    {
        public int ExitCode { get; } = exitCode;
    }
}
