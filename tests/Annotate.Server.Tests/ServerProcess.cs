using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Annotate.Testing;
using Npgsql;

namespace Annotate.Server.Tests;

/// <summary>
/// The built server (Annotate.Server.dll, copied beside the tests by the project reference) run as a real child
/// process, with its output captured line by line so tests can wait for what it says.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly Signal _output = new(); // pulsed on every line and when the process exits

    private ServerProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public string Stdout { get { lock (_stdout) return string.Join('\n', _stdout); } }

    public string Stderr { get { lock (_stderr) return string.Join('\n', _stderr); } }

    /// <summary>Starts the server with <paramref name="args"/>; the environment is the test's minus anything that would configure the server.</summary>
    public static ServerProcess Start(IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Annotate.Server.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
                     || k.StartsWith("Annotate__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var server = new ServerProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (server._stdout) server._stdout.Add(e.Data);
            server._output.Pulse();
        };
        process.Exited += (_, _) => server._output.Pulse();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (server._stderr) server._stderr.Add(e.Data); };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Starts the server on embedded PostgreSQL in <paramref name="dataDir"/> and waits until it says it listens.</summary>
    public static async Task<ServerProcess> StartListeningAsync(string dataDir, int port, params string[] extra)
    {
        var server = Start(["--data-dir", dataDir, "--urls", $"http://127.0.0.1:{port}", .. extra]);
        await server.WaitForOutputAsync($"Annotate listening on http://127.0.0.1:{port}");
        return server;
    }

    /// <summary>Waits until stdout has a line containing <paramref name="text"/>; fails if the server exits first or takes too long.</summary>
    public async Task WaitForOutputAsync(string text)
    {
        // The wait ends as soon as the line arrives or the process exits (the end of stdout pulses too).
        var said = await _output.WaitUntilAsync(() => Stdout.Contains(text, StringComparison.Ordinal) || _process.HasExited, Patience);
        if (Stdout.Contains(text, StringComparison.Ordinal)) return;
        if (_process.HasExited)
        {
            _process.WaitForExit(); // drains the output
            if (Stdout.Contains(text, StringComparison.Ordinal)) return;
            Assert.Fail($"The server exited ({_process.ExitCode}) before saying \"{text}\".\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        Assert.True(said, $"The server did not say \"{text}\" within {Patience}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
    }

    /// <summary>Sends SIGTERM (what systemd, docker stop and kill send) and returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString()])) await kill.WaitForExitAsync();
        return await WaitForExitAsync();
    }

    /// <summary>SIGKILL: the server gets no chance to stop anything.</summary>
    public async Task KillHardAsync()
    {
        _process.Kill(entireProcessTree: false);
        await WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync()
    {
        using var cts = new CancellationTokenSource(Patience);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

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
            try { cmd = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (cmd.Contains("postgres", StringComparison.Ordinal) && cmd.Contains($"-D {Cluster} ", StringComparison.Ordinal)) pids.Add(pid);
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
        ScalarAsync<long>(cs, $"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '{Hosting.AnnotateDatabase.ApplicationName}'");
}
