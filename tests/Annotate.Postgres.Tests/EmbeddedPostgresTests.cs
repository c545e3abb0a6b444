using Annotate.Postgres;
using Npgsql;

namespace Annotate.Postgres.Tests;

/// <summary>The embedded cluster the server runs when no connection string is configured.</summary>
public sealed class EmbeddedPostgresTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"annotate-embedded-{Guid.NewGuid():N}"[..28]);

    private EmbeddedPostgresOptions Options => new() { DataDirectory = _dir, Database = "annotate" };

    [Fact]
    public async Task First_start_initializes_a_cluster_and_creates_the_database()
    {
        await using var pg = await EmbeddedPostgres.StartAsync(Options);

        Assert.False(pg.Adopted);
        Assert.True(File.Exists(Path.Combine(_dir, "pgdata", "PG_VERSION")));
        Assert.Equal("annotate", await ScalarAsync<string>(pg.ConnectionString, "SELECT current_database()"));
        Assert.Equal("127.0.0.1", await ScalarAsync<string>(pg.ConnectionString, "SELECT host(inet_server_addr())"));
    }

    [Fact]
    public async Task Restart_reuses_the_cluster_and_keeps_the_data()
    {
        var first = await EmbeddedPostgres.StartAsync(Options);
        await ExecAsync(first.ConnectionString, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives')");
        await first.StopAsync();
        Assert.Empty(PostmastersOf(_dir));

        await using var second = await EmbeddedPostgres.StartAsync(Options);

        Assert.False(second.Adopted);
        Assert.Equal("survives", await ScalarAsync<string>(second.ConnectionString, "SELECT v FROM kept"));
    }

    [Fact]
    public async Task A_postmaster_left_running_by_a_killed_owner_is_adopted_not_doubled()
    {
        // The owner "dies" without stopping its cluster, as after kill -9: the postmaster lives on.
        var orphaned = await EmbeddedPostgres.StartAsync(Options);
        await ExecAsync(orphaned.ConnectionString, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('committed')");
        var postmaster = Assert.Single(PostmastersOf(_dir));

        await using var next = await EmbeddedPostgres.StartAsync(Options);

        Assert.True(next.Adopted);
        Assert.Equal(orphaned.Port, next.Port);
        Assert.Equal(postmaster, Assert.Single(PostmastersOf(_dir)));
        Assert.Equal("committed", await ScalarAsync<string>(next.ConnectionString, "SELECT v FROM kept"));
        await next.StopAsync();
        Assert.Empty(PostmastersOf(_dir));
    }

    [Fact]
    public async Task A_postmaster_pid_file_whose_process_is_gone_is_cleared()
    {
        var first = await EmbeddedPostgres.StartAsync(Options);
        await first.StopAsync();
        var pidFile = Path.Combine(_dir, "pgdata", "postmaster.pid");
        // A crash leaves the file behind; its pid is no process now.
        await File.WriteAllLinesAsync(pidFile, ["999999", Path.Combine(_dir, "pgdata"), "0", first.Port.ToString(), "", "", "", "ready"]);

        await using var pg = await EmbeddedPostgres.StartAsync(Options);

        Assert.False(pg.Adopted);
        Assert.Equal(1, await ScalarAsync<int>(pg.ConnectionString, "SELECT 1"));
    }

    [Fact]
    public async Task Stop_leaves_no_postgres_process_behind()
    {
        var pg = await EmbeddedPostgres.StartAsync(Options);
        Assert.NotEmpty(PostmastersOf(_dir));

        await pg.StopAsync();

        Assert.Empty(PostmastersOf(_dir));
        Assert.False(File.Exists(Path.Combine(_dir, "pgdata", "postmaster.pid")));
    }

    [Fact]
    public async Task Missing_binaries_are_reported_with_how_to_install_them()
    {
        var empty = Directory.CreateTempSubdirectory("annotate-nobin-").FullName;
        try
        {
            var e = await Assert.ThrowsAsync<EmbeddedPostgresException>(() =>
                EmbeddedPostgres.StartAsync(Options with { BinDirectory = empty }));
            Assert.Contains("apt-get install postgresql", e.Message);
            Assert.False(Directory.Exists(Path.Combine(_dir, "pgdata")));
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    /// <summary>Postmasters running on the cluster in <paramref name="dataDir"/> (their command line names it; children do not).</summary>
    internal static List<int> PostmastersOf(string dataDir)
    {
        var cluster = Path.Combine(Path.GetFullPath(dataDir), "pgdata");
        var pids = new List<int>();
        foreach (var d in Directory.GetDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(d), out var pid) && ReadCmdline(pid) is var cmd
                && cmd.Contains("postgres", StringComparison.Ordinal) && cmd.Contains($"-D {cluster}", StringComparison.Ordinal))
            {
                pids.Add(pid);
            }
        }
        return pids;
    }

    private static string ReadCmdline(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    private static async Task<T> ScalarAsync<T>(string cs, string sql)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task ExecAsync(string cs, string sql)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    public void Dispose()
    {
        // Whatever a failed test left running must not outlive it.
        foreach (var pid in PostmastersOf(_dir))
        {
            try { System.Diagnostics.Process.GetProcessById(pid).Kill(); }
            catch (ArgumentException) { }
        }
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
