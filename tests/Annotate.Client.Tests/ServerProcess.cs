using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Annotate.Testing;

namespace Annotate.Client.Tests;

/// <summary>
/// The real annotation server (Annotate.Server.dll, copied beside the tests by the project reference) as a child
/// process on a PostgreSQL database named by connection string. Started: waits for its "listening" log line.
/// Stopped: SIGTERM, as an operator would. Can be started again on the same port and database.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _connectionString;
    private readonly string _tokenFile;
    private Process? _process;
    private readonly StringBuilder _output = new();
    private readonly Signal _said = new(); // pulsed on every line of output and when the process exits

    public ServerProcess(string connectionString, string tokenFile, int? port = null)
    {
        _connectionString = connectionString;
        _tokenFile = tokenFile;
        Port = port ?? FreePort();
    }

    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    /// <summary>The admin token the server wrote on its first start.</summary>
    public string AdminToken => File.ReadAllText(_tokenFile).Trim();

    public string Output { get { lock (_output) return _output.ToString(); } }

    public bool IsRunning => _process is { HasExited: false };

    public async Task StartAsync()
    {
        if (IsRunning) throw new InvalidOperationException("The server is already running.");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Annotate.Server.dll"));
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add(Address);
        psi.ArgumentList.Add("--ConnectionStrings:Annotate=" + _connectionString);
        psi.ArgumentList.Add("--Annotate:AdminTokenFile=" + _tokenFile);
        // Nothing from the test's own environment may configure the server behind the test's back.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
                     || k.StartsWith("Annotate__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);

        var seen = Output.Length; // a restart must say it again, after what the previous run said
        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); _said.Pulse(); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); _said.Pulse(); };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _said.Pulse();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var ready = $"Annotate listening on {Address}";
        bool Listening() => Output.IndexOf(ready, seen, StringComparison.Ordinal) >= 0;
        await _said.WaitUntilAsync(() => Listening() || process.HasExited, Patience);
        if (Listening()) return;
        if (process.HasExited) throw new InvalidOperationException($"The server exited ({process.ExitCode}) before listening:\n{Output}");
        throw new TimeoutException($"The server did not listen within {Patience}:\n{Output}");
    }

    /// <summary>SIGTERM, then waits for the exit.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var cts = new CancellationTokenSource(Patience);
        await _process.WaitForExitAsync(cts.Token);
        _process.Dispose();
        _process = null;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
            _process?.Kill(entireProcessTree: true);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// Class fixture: a fresh database on the shared test PostgreSQL and a server on it, with an admin token.
/// Disposed: the server is stopped and the database dropped.
/// </summary>
public sealed class CliServer : IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("annotate-cli-").FullName;

    public ServerProcess Server { get; private set; } = null!;

    public string Directory_ => _dir;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Server = new ServerProcess(_database.ConnectionString, Path.Combine(_dir, "admin-token"));
        await Server.StartAsync();
    }

    /// <summary>A CLI as the admin, with its own (empty) config folder.</summary>
    public Cli Admin() => new(Server.Address, Server.AdminToken);

    /// <summary>Registers <paramref name="analystId"/> with <paramref name="roles"/> (through the CLI) and returns a CLI holding a token of theirs.</summary>
    public async Task<Cli> AnalystAsync(string analystId, params string[] roles)
    {
        var admin = Admin();
        var args = new List<string> { "admin", "analysts", "create", analystId, "--name", analystId };
        foreach (var r in roles) args.AddRange(["--role", r]);
        (await admin.RunAsync([.. args])).AssertOk();
        var issued = (await admin.RunAsync("admin", "tokens", "issue", analystId, "--json")).AssertOk().Json<Contracts.V1.IssueTokenResponse>();
        return new Cli(Server.Address, issued.Secret);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await _database.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
