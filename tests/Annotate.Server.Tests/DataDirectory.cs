using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace Annotate.Server.Tests;

/// <summary>A scratch data folder for one test's embedded cluster, and what can be observed of that cluster from outside.</summary>
internal sealed class DataDirectory : IDisposable
{
    public DataDirectory()
    {
        // Under /tmp (world-searchable), so the postgres user can reach it when the tests run as root.
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"annotate-srv-{Guid.NewGuid():N}"[..25]);
    }

    public string Path { get; }

    public string Cluster => System.IO.Path.Combine(Path, "pgdata");

    /// <summary>Connection string to the server's application database, from the port and password the cluster keeps beside it.</summary>
    public string ConnectionString
    {
        get
        {
            using var state = JsonDocument.Parse(File.ReadAllText(System.IO.Path.Combine(Path, "embedded.json")));
            return new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1",
                Port = state.RootElement.GetProperty("Port").GetInt32(),
                Username = "annotate",
                Password = state.RootElement.GetProperty("Password").GetString(),
                Database = "annotate",
                Pooling = false,
            }.ConnectionString;
        }
    }

    /// <summary>Postmasters running on this folder's cluster (their command line names it; backends do not).</summary>
    public List<int> Postmasters()
    {
        var pids = new List<int>();
        foreach (var d in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(d), out var pid)) continue;
            string cmd;
            try
            {
                cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }
            if (cmd.Contains("postgres", StringComparison.Ordinal) && cmd.Contains($"-D {Cluster} ", StringComparison.Ordinal))
                pids.Add(pid);
        }
        return pids;
    }

    public void Dispose()
    {
        // Whatever a failed test left running must not outlive it.
        foreach (var pid in Postmasters())
        {
            try { Process.GetProcessById(pid).Kill(); }
            catch (ArgumentException) { }
        }
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

internal static class Sql
{
    public static async Task<T> ScalarAsync<T>(string cs, string sql)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public static async Task ExecAsync(string cs, string sql)
    {
        await using var conn = new NpgsqlConnection(cs);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, conn);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>Sessions the server holds open on the database of <paramref name="cs"/> (its pool keeps the startup connection).</summary>
    public static Task<long> ServerSessionsAsync(string cs) =>
        ScalarAsync<long>(cs, $"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = " +
            $"'{Hosting.AnnotateDatabase.ApplicationName}'");

    /// <summary>
    /// Server sessions left once they have had <paramref name="patience"/> to end after the server exited. A closed
    /// client connection ends its session when the backend reads the close, which may come a moment later (through
    /// Docker's port proxy, for one): PostgreSQL announces no session's end, so this asks again until none is left.
    /// </summary>
    public static async Task<long> ServerSessionsAfterExitAsync(string cs, TimeSpan patience)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var left = await ServerSessionsAsync(cs);
            if (left == 0 || DateTime.UtcNow >= deadline) return left;
            await Task.Delay(50);
        }
    }
}
