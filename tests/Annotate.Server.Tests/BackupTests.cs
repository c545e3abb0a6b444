using System.Collections.Concurrent;
using Annotate.Contracts;
using Annotate.Contracts.V1;
using Npgsql;
using Xunit.Abstractions;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// <c>annotate-server backup</c> and <c>restore</c> as an operator runs them: the built server's command line against the
/// real PostgreSQL, a backup taken while analysts write, restored into a fresh database that a second server then serves.
/// </summary>
public sealed class BackupTests(AnnotateServer server, ITestOutputHelper output) : IClassFixture<AnnotateServer>, IAsyncLifetime
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";
    private readonly string _dir = Directory.CreateTempSubdirectory("annotate-backup-").FullName;
    private readonly List<string> _databases = [];
    private PostgresServer _postgres = null!;

    public async Task InitializeAsync() => _postgres = await PostgresServer.SharedAsync();

    public async Task DisposeAsync()
    {
        foreach (var database in _databases) await _postgres.DropDatabaseAsync(database);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task A_backup_taken_during_writes_restores_into_a_fresh_database_where_verify_passes_and_earlier_receipts_hold()
    {
        var who = AnnotateServer.As(await server.AnalystAsync(server.Unique("writer"), Role.Analyst));
        // Each command is filed by when it was answered and sent: answered before the backup started (in the snapshot),
        // sent after it ended (not in it), or in between (either).
        var before = new ConcurrentBag<CommandResult>();
        var during = new ConcurrentBag<CommandResult>();
        var after = new ConcurrentBag<CommandResult>();
        var phase = 0; // 0 before, 1 during, 2 after the backup
        var failures = new ConcurrentBag<string>();
        var progress = new Signal();
        using var stop = new CancellationTokenSource();

        async Task WriteAsync(int writer)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var sent = Volatile.Read(ref phase);
                try
                {
                    var created = await server.Channel.Annotations().CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = Rid(),
                            ArticleId = Seed,
                            Selector = At(i % 40, i % 40 + 7),
                            Note = $"w{writer}"
                        },
                        new CallOptions(who.Headers, DateTime.UtcNow.AddSeconds(60)));
                    (Volatile.Read(ref phase) == 0 ? before : sent == 2 ? after : during).Add(created.Result);
                }
                catch (RpcException e)
                {
                    failures.Add($"{e.StatusCode}: {e.Status.Detail}");
                }
                progress.Pulse();
            }
        }

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() => WriteAsync(w))).ToList();
        Assert.True(await progress.WaitUntilAsync(() => before.Count >= 20, TimeSpan.FromSeconds(60)), "the writers did not get going");

        var file = Path.Combine(_dir, "annotate.dump");
        Volatile.Write(ref phase, 1);
        var (backupCode, backupSaid) =
            await RunAsync("backup", "--output", file, $"--ConnectionStrings:Annotate={server.ConnectionString}");
        Volatile.Write(ref phase, 2);
        Assert.True(await progress.WaitUntilAsync(() => after.Count >= 4, TimeSpan.FromSeconds(60)), "no command sent after the backup");
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.True(backupCode == 0, backupSaid);
        Assert.Contains($"to {file}", backupSaid);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Empty(failures);
        output.WriteLine($"commands: {before.Count} answered before the backup, {after.Count} sent after it, {during.Count} in between");

        var restored = await NewDatabaseAsync("restored");
        var (restoreCode, restoreSaid) = await RunAsync("restore", file, $"--ConnectionStrings:Annotate={restored}");
        Assert.True(restoreCode == 0, restoreSaid);

        // The restored database is served as it is: the admin's token was restored with it.
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        await using var second = ServerProcess.Start([
            "--urls", address, $"--ConnectionStrings:Annotate={restored}",
                $"--Annotate:AdminTokenFile={Path.Combine(_dir, "unused-token")}",
        ]);
        await second.WaitForOutputAsync($"Annotate listening on {address}");
        using var channel = GrpcChannel.ForAddress(address);

        var held = await VerifyAsync(channel, before);
        Assert.True(held.Ok, $"verify failed: {held.FirstBroken} " +
            $"{string.Join("; ", held.Receipts.Where(r => !r.Holds).Select(r => r.Reason))}");
        Assert.Null(held.FirstBroken);
        Assert.Equal(held.HeadPosition, held.EventsChecked);
        Assert.Equal(before.Count, held.Receipts.Count);
        Assert.All(held.Receipts, r => Assert.True(r.Holds, r.Reason));
        Assert.True(held.HeadPosition >= before.Max(r => r.Position));
        // A snapshot, not a live copy: what was sent after the backup ended is not in it.
        Assert.True(held.HeadPosition < after.Min(r => r.Position), $"head {held.HeadPosition} includes writes made after the backup");
        var later = await VerifyAsync(channel, after);
        Assert.All(later.Receipts, r => Assert.False(r.Holds, $"a receipt from after the backup holds: {r.Receipt}"));
        Assert.Null(later.FirstBroken);
    }

    [Fact]
    public async Task Restore_into_a_database_whose_schema_holds_tables_is_refused_and_into_an_empty_schema_keeps_it()
    {
        var file = Path.Combine(_dir, "small.dump");
        var (backupCode, backupSaid) =
            await RunAsync("backup", $"--output={file}", $"--ConnectionStrings:Annotate={server.ConnectionString}");
        Assert.True(backupCode == 0, backupSaid);
        var tables = await TablesAsync(server.ConnectionString);
        Assert.NotEmpty(tables);

        var (refusedCode, refusedSaid) = await RunAsync("restore", file, $"--ConnectionStrings:Annotate={server.ConnectionString}");
        Assert.Equal(1, refusedCode);
        Assert.Contains($"Refused: schema \"annotate\" of", refusedSaid);
        Assert.Contains($"already holds {tables.Count} table(s)", refusedSaid);
        Assert.Equal(tables, await TablesAsync(server.ConnectionString));

        // A schema an administrator created beforehand, still empty, is restored into.
        var prepared = await NewDatabaseAsync("prepared");
        await ExecuteAsync(prepared, "CREATE SCHEMA annotate");
        var (restoreCode, restoreSaid) = await RunAsync("restore", file, $"--ConnectionStrings:Annotate={prepared}");
        Assert.True(restoreCode == 0, restoreSaid);
        Assert.Equal(tables, await TablesAsync(prepared));

        // Another schema than the backup's is named, not mixed in.
        var other = await NewDatabaseAsync("other");
        var (otherCode, otherSaid) = await RunAsync("restore", file, $"--ConnectionStrings:Annotate={other}", "--Annotate:Schema=desk2");
        Assert.Equal(1, otherCode);
        Assert.Contains("holds schema \"annotate\", not \"desk2\"", otherSaid);
        Assert.Empty(await TablesAsync(other));
    }

    [Fact]
    public async Task Backup_without_pg_dump_says_what_to_install_and_exits_with_2()
    {
        var (code, said) = await RunAsync("backup", "--output", Path.Combine(_dir, "x.dump"), "--Annotate:PostgresBinDir=/nonexistent",
            $"--ConnectionStrings:Annotate={server.ConnectionString}");
        Assert.Equal(2, code);
        Assert.Contains("pg_dump was not found (Annotate:PostgresBinDir=/nonexistent)", said);
        Assert.Contains("postgresql-client", said);
        Assert.False(File.Exists(Path.Combine(_dir, "x.dump")));
    }

    [Fact]
    public async Task Backup_into_a_folder_that_does_not_exist_says_where_and_exits_with_2()
    {
        var file = Path.Combine(_dir, "missing", "x.dump");
        var (code, said) = await RunAsync("backup", "--output", file, $"--ConnectionStrings:Annotate={server.ConnectionString}");
        Assert.Equal(2, code);
        Assert.Contains($"Cannot write the backup to {file}", said);
        Assert.DoesNotContain("   at ", said); // no stack trace
    }

    /// <summary>The built server's command line; returns its exit code and what it wrote on stdout and stderr.</summary>
    private static async Task<(int Code, string Said)> RunAsync(params string[] args)
    {
        using var process = ServerProcess.Start(args);
        var code = await process.WaitForExitAsync();
        return (code, process.Output);
    }

    private async Task<VerifyResult> VerifyAsync(GrpcChannel channel, IEnumerable<CommandResult> receipts)
    {
        var request = new VerifyAuditRequest();
        request.Receipts.AddRange(receipts.Select(r => new Receipt { Position = r.Position, Hash = r.ReceiptHash }));
        using var call = channel.History().VerifyAudit(request, server.Admin);
        VerifyResult? result = null;
        await foreach (var m in call.ResponseStream.ReadAllAsync()) result = m.Result ?? result;
        return result ?? throw new InvalidOperationException("VerifyAudit sent no result");
    }

    private async Task<string> NewDatabaseAsync(string prefix)
    {
        var database = await _postgres.CreateDatabaseAsync(prefix);
        _databases.Add(database);
        return database;
    }

    private static async Task<List<string>> TablesAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'annotate' ORDER BY tablename", conn);
        var tables = new List<string>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        return tables;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }
}
