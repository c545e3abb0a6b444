using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Annotate.Testing;

/// <summary>
/// The built server (Annotate.Server.dll, copied beside the tests by the test project's reference to it) run as
/// a real child process, with its output captured line by line so tests can wait for what it says. Either
/// started at once with the arguments a test chooses (<see cref="Start"/>), or set up on a database and port
/// (the constructor) and started, stopped with SIGTERM and started again on the same port and database
/// (<see cref="StartAsync"/>, <see cref="StopAsync"/>). Standard input is closed: nothing may wait for input.
/// The one server harness of the repository: the server and client tests and the end-to-end benchmark (which runs
/// other builds of the server through it) start their servers here.
/// </summary>
public sealed class ServerProcess : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly IReadOnlyList<string> _args;
    private readonly IDictionary<string, string> _environment;
    private readonly string? _tokenFile;
    private readonly string _serverDll;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _output = new(); // both streams, in the order the lines arrived
    private readonly Signal _said = new(); // pulsed on every line and when the process exits
    private Process? _process;

    private ServerProcess(IEnumerable<string> args, IDictionary<string, string>? environment, string? tokenFile, string? serverDll = null)
    {
        _serverDll = serverDll ?? Path.Combine(AppContext.BaseDirectory, "Annotate.Server.dll");
        _args = [.. args];
        _environment = environment ?? new Dictionary<string, string>();
        _tokenFile = tokenFile;
        var urls = _args.ToList().IndexOf("--urls");
        Port =
            urls >= 0 && urls + 1 < _args.Count && Uri.TryCreate(_args[urls + 1].Split(';')[0], UriKind.Absolute, out var uri)
                ? uri.Port
                : 0;
    }

    /// <summary>A server on the database of <paramref name="connectionString"/> at 127.0.0.1, writing its first admin's token to <paramref
    /// name="tokenFile"/>; not started yet. <paramref name="serverDll"/> runs another build of the server (e.g. a previous version)
    /// instead of the one beside the tests.</summary>
    public ServerProcess(string connectionString, string tokenFile, int? port = null, string? serverDll = null, params string[] extra)
        : this([.. ServerArgs(connectionString, tokenFile, port ?? FreePort()), .. extra], null, tokenFile, serverDll)
    {
    }

    /// <summary>The port of the first address in --urls (0 when the arguments have none).</summary>
    public int Port { get; }

    public string Address => $"http://127.0.0.1:{Port}";

    /// <summary>The admin token the server wrote on its first start.</summary>
    public string AdminToken =>
        File.ReadAllText(_tokenFile ?? throw new InvalidOperationException("This server was started without a token file.")).Trim();

    public int Pid => Current.Id;

    public bool IsRunning => _process is { HasExited: false };

    public string Stdout { get { lock (_output) return _stdout.ToString().TrimEnd('\n'); } }

    public string Stderr { get { lock (_output) return _stderr.ToString().TrimEnd('\n'); } }

    /// <summary>Standard output and error as the lines arrived, over every start of this server.</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    private Process Current => _process ?? throw new InvalidOperationException("The server has not been started.");

    /// <summary>Starts the server with <paramref name="args"/>; the environment is the test's minus anything that would configure the
    /// server, plus <paramref name="environment"/>.</summary>
    public static ServerProcess Start(IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var server = new ServerProcess(args, environment, tokenFile: null);
        server.Launch();
        return server;
    }

    /// <summary>Starts the server on embedded PostgreSQL in <paramref name="dataDir"/> and waits until it says it listens.</summary>
    public static async Task<ServerProcess> StartListeningAsync(string dataDir, int port, params string[] extra)
    {
        var server = Start(["--data-dir", dataDir, "--urls", $"http://127.0.0.1:{port}", .. extra]);
        await server.WaitForOutputAsync($"Annotate listening on http://127.0.0.1:{port}");
        return server;
    }

    /// <summary>Starts (or starts again) the server and waits until it says it listens.</summary>
    public async Task StartAsync()
    {
        if (IsRunning) throw new InvalidOperationException("The server is already running.");
        var seen = Output.Length; // a restart must say it again, after what the previous run said
        Launch();
        await WaitForAsync(
            $"Annotate listening on {Address}",
            () => Output.IndexOf($"Annotate listening on {Address}", seen, StringComparison.Ordinal) >= 0);
    }

    /// <summary>Waits until stdout has a line containing <paramref name="text"/>; fails if the server exits first or takes too
    /// long.</summary>
    public Task WaitForOutputAsync(string text) => WaitForAsync(text, () => Stdout.Contains(text, StringComparison.Ordinal));

    /// <summary>Sends SIGTERM (what systemd, docker stop and kill send) and returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        return await WaitForExitAsync();
    }

    /// <summary>SIGTERM when running, then waits for the exit; the server can be started again.</summary>
    public async Task StopAsync()
    {
        if (IsRunning) await TerminateAsync();
    }

    /// <summary>SIGKILL: the server gets no chance to stop anything.</summary>
    public async Task KillHardAsync()
    {
        Current.Kill(entireProcessTree: false);
        await WaitForExitAsync();
    }

    public async Task<int> WaitForExitAsync()
    {
        using var cts = new CancellationTokenSource(Patience);
        await Current.WaitForExitAsync(cts.Token);
        Current.WaitForExit(); // drains the redirected output
        return Current.ExitCode;
    }

    /// <summary>Kills what still runs: a failed test must not leave a server behind.</summary>
    public void Dispose()
    {
        if (_process is null) return;
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
        _process = null;
    }

    /// <summary>Stops the server as an operator would (SIGTERM), killing it if it does not exit in time.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
        }
        Dispose();
    }

    /// <summary>A TCP port on the loopback address that nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static List<string> ServerArgs(string connectionString, string tokenFile, int port) =>
        [
            "--urls",
            $"http://127.0.0.1:{port}",
            "--ConnectionStrings:Annotate=" + connectionString,
            "--Annotate:AdminTokenFile=" + tokenFile,
        ];

    private void Launch()
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        psi.ArgumentList.Add(_serverDll);
        foreach (var a in _args) psi.ArgumentList.Add(a);
        // Nothing from the test's own environment may configure the server behind the test's back.
        foreach (
            var key in psi
                .Environment.Keys.Where(k =>
                    k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
                    || k.StartsWith("Annotate__", StringComparison.Ordinal)
                    || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)
                    || k.StartsWith("OTEL_", StringComparison.Ordinal))
                .ToList())
        {
            psi.Environment.Remove(key);
        }
        foreach (var (k, v) in _environment) psi.Environment[k] = v;

        _process?.Dispose();
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        process.Exited += (_, _) => _said.Pulse();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
    }

    private void Append(StringBuilder stream, string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                stream.Append(line).Append('\n');
                _output.Append(line).Append('\n');
            }
        }
        _said.Pulse();
    }

    private async Task WaitForAsync(string text, Func<bool> said)
    {
        var process = Current;
        // The wait ends as soon as the line arrives or the process exits (the end of its output pulses too).
        var inTime = await _said.WaitUntilAsync(() => said() || process.HasExited, Patience);
        if (said()) return;
        if (process.HasExited)
        {
            process.WaitForExit(); // drains the output
            if (said()) return;
            Assert.Fail($"The server exited ({process.ExitCode}) before saying \"{text}\".\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }
        Assert.True(inTime, $"The server did not say \"{text}\" within {Patience}.\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
    }
}
