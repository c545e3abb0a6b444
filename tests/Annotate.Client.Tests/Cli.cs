using System.Diagnostics;
using System.Text;
using Annotate.Testing;
using Google.Protobuf;

namespace Annotate.Client.Tests;

/// <summary>What one run of `annotate` did.</summary>
public sealed record CliResult(IReadOnlyList<string> Args, int ExitCode, string Stdout, string Stderr)
{
    public CliResult AssertOk()
    {
        Assert.True(ExitCode == 0, Describe());
        return this;
    }

    public CliResult AssertExit(int expected)
    {
        Assert.True(ExitCode == expected, $"expected exit code {expected}; {Describe()}");
        return this;
    }

    /// <summary>stdout as one message of the protobuf JSON mapping (what --json prints).</summary>
    public T Json<T>() where T : IMessage<T>, new() => JsonParser.Default.Parse<T>(Stdout);

    /// <summary>stdout as one message per line (what --json prints for streams).</summary>
    public List<T> JsonLines<T>() where T : IMessage<T>, new() =>
        Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonParser.Default.Parse<T>(l)).ToList();

    public string Describe() => $"`annotate {string.Join(' ', Args)}` exited {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>
/// Runs the real `annotate` (annotate.dll in the CLI's own build output) as a child process, as one user: its own config folder
/// (XDG_CONFIG_HOME), and server and token given through ANNOTATE_SERVER/ANNOTATE_TOKEN unless null.
/// Nothing else of the test's environment that the CLI reads is passed on.
/// </summary>
public sealed class Cli(string? server, string? token, string? configHome = null)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>
    /// annotate.dll where the CLI's own build put it (clients/Annotate.Cli/bin/&lt;configuration&gt;/&lt;framework&gt;),
    /// not the copy beside the tests: this test project also references the server, whose ASP.NET Core framework
    /// supplies assemblies (e.g. Microsoft.Extensions.Logging.Abstractions) that are then not copied here, while the
    /// CLI, a plain console program, loads them from its own folder.
    /// </summary>
    private static readonly Lazy<string> Dll = new(() =>
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (here.Name, here.Parent!.Name);
        for (var dir = here; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Annotate.sln")))
            {
                var dll = Path.Combine(dir.FullName, "clients", "Annotate.Cli", "bin", configuration, framework, "annotate.dll");
                return File.Exists(dll) ? dll : throw new FileNotFoundException($"The CLI is not built ({dll}).");
            }
        }
        throw new DirectoryNotFoundException($"No Annotate.sln above {here.FullName}.");
    });

    /// <summary>
    /// One folder holding every Cli's config folder, beside the test assembly: emptied when the test process
    /// starts (one test process per assembly at a time) and removed when it exits, so no run leaves it in /tmp.
    /// </summary>
    private static readonly Lazy<string> ConfigRoot = new(() =>
    {
        var root = Path.Combine(AppContext.BaseDirectory, "cli-config");
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
        return root;
    });

    public string ConfigHome { get; } =
        configHome ?? Directory.CreateDirectory(Path.Combine(ConfigRoot.Value, Guid.NewGuid().ToString("N"))).FullName;

    public string? Server { get; } = server;

    public string? Token { get; } = token;

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public Task<CliResult> RunAsync(params string[] args) => Start(args).WaitAsync();

    /// <summary>
    /// Runs `annotate` with its stdout and stderr on a pseudo-terminal (util-linux `script`), as a person at a
    /// terminal would see it; what the terminal showed comes back as stdout.
    /// </summary>
    public Task<CliResult> RunInTerminalAsync(params string[] args)
    {
        static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        var host = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var command = string.Join(' ', new[] { host, Dll.Value }.Concat(args).Select(Quote));
        return Start(["-qefc", command, "/dev/null"], "script").WaitAsync();
    }

    public RunningCli Start(params string[] args) => Start(args, null);

    private RunningCli Start(string[] args, string? wrapper)
    {
        var psi = new ProcessStartInfo(
            wrapper ?? (System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (wrapper is null) psi.ArgumentList.Add(Dll.Value);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var key in new[] { "ANNOTATE_SERVER", "ANNOTATE_TOKEN", "NO_COLOR", "XDG_CONFIG_HOME" }) psi.Environment.Remove(key);
        psi.Environment["XDG_CONFIG_HOME"] = ConfigHome;
        if (Server is not null) psi.Environment["ANNOTATE_SERVER"] = Server;
        if (Token is not null) psi.Environment["ANNOTATE_TOKEN"] = Token;
        foreach (var (k, v) in Environment) psi.Environment[k] = v;
        return new RunningCli(args, Process.Start(psi)!);
    }

    public sealed class RunningCli
    {
        private readonly string[] _args;
        private readonly Process _process;
        private readonly StringBuilder _stdout = new();
        private readonly StringBuilder _stderr = new();
        private readonly TaskCompletionSource _stdoutDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _stderrDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Signal _output = new(); // pulsed on every line and at the end of each stream

        internal RunningCli(string[] args, Process process)
        {
            _args = args;
            _process = process;
            process.StandardInput.Close();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) _stdoutDone.TrySetResult(); else lock (_stdout) _stdout.Append(e.Data).Append('\n');
                _output.Pulse();
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) _stderrDone.TrySetResult(); else lock (_stderr) _stderr.Append(e.Data).Append('\n');
                _output.Pulse();
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        public bool HasExited => _process.HasExited;

        /// <summary>Sends a signal (e.g. "INT", as Ctrl+C does) to the CLI process.</summary>
        public async Task SignalAsync(string signal)
        {
            using var kill = Process.Start(
                "kill",
                [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]
            )!;
            await kill.WaitForExitAsync();
        }

        /// <summary>Waits (woken by each line of output, with a deadline) until stdout or stderr says <paramref name="text"/>.</summary>
        public async Task WaitForOutputAsync(string text, bool onStderr = false)
        {
            bool Said() => (onStderr ? Stderr : Stdout).Contains(text, StringComparison.Ordinal);
            bool Ended() => _stdoutDone.Task.IsCompleted && _stderrDone.Task.IsCompleted;
            var done = await _output.WaitUntilAsync(() => Said() || Ended(), Patience);
            if (Said()) return;
            if (done)
            {
                var exit = _process.WaitForExit(TimeSpan.FromSeconds(10))
                    ? _process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : "output closed";
                Assert.Fail(
                    $"`annotate {string.Join(' ', _args)}` exited ({exit}) before saying \"{text}\"\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            }
            Assert.Fail(
                $"`annotate {string.Join(' ', _args)}` did not say \"{text}\" within {Patience}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
        }

        public async Task<CliResult> WaitAsync()
        {
            using var cts = new CancellationTokenSource(Patience);
            try
            {
                await _process.WaitForExitAsync(cts.Token);
                await Task.WhenAll(_stdoutDone.Task, _stderrDone.Task).WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                Assert.Fail($"`annotate {string.Join(' ', _args)}` did not finish within {Patience}\nstdout:\n{Stdout}\nstderr:\n{Stderr}");
            }
            var result = new CliResult(_args, _process.ExitCode, Stdout, Stderr);
            _process.Dispose();
            return result;
        }

        public void Kill()
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
    }
}
