using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>
/// A build of the server to measure: a label for the tables, the path of its Annotate.Server.dll, and arguments of its
/// own (<c>--server-arg</c>, e.g. telemetry on for one label and off for another of the same dll).
/// </summary>
internal sealed record ServerBuild(string Label, string Dll)
{
    public IReadOnlyList<string> Arguments { get; init; } = [];
}

/// <summary>
/// One Annotate.Server process (<c>dotnet Annotate.Server.dll</c>) on a free loopback port and a given database,
/// started the way an operator starts it. Ready once it prints "Annotate listening on"; stopped with SIGTERM.
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly string _tokenFile;

    private readonly MetricsScraper? _scraper;

    private ServerUnderTest(Process process, string address, string tokenFile, MetricsScraper? scraper)
    {
        _process = process;
        Address = address;
        _tokenFile = tokenFile;
        _scraper = scraper;
    }

    public string Address { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;
    public string AdminToken { get; private set; } = "";

    public static async Task<ServerUnderTest> StartAsync(ServerBuild build, string connectionString)
    {
        var port = FreePort();
        var address = $"http://127.0.0.1:{port}";
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-bench-admin-{Guid.NewGuid():N}");
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in new[]
                 {
                     build.Dll, "--urls", address, $"--ConnectionStrings:Annotate={connectionString}",
                     $"--Annotate:AdminTokenFile={tokenFile}",
                     // The benchmark imports its own articles, so every build starts from the same data.
                     "--Annotate:ImportSeeds=false",
                 })
        {
            psi.ArgumentList.Add(a);
        }
        string? metrics = null;
        foreach (var a in build.Arguments)
        {
            var arg = a;
            if (arg.Contains("{metrics}", StringComparison.Ordinal))
                arg = arg.Replace("{metrics}", metrics ??= $"http://127.0.0.1:{FreePort()}", StringComparison.Ordinal);
            if (arg.Contains("{otlp}", StringComparison.Ordinal))
                arg = arg.Replace("{otlp}", (await OtlpSink.SharedAsync()).Address, StringComparison.Ordinal);
            psi.ArgumentList.Add(arg);
        }
        // Nothing from this shell may configure the server differently from build to build.
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

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var server = new ServerUnderTest(process, address, tokenFile, metrics is null ? null : new MetricsScraper(metrics + "/metrics"));
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (server._output) server._output.AppendLine(line);
            if (line.Contains("Annotate listening on", StringComparison.Ordinal)) ready.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) =>
            ready.TrySetException(new InvalidOperationException($"the server ({build.Label}) exited before listening:\n{server.Output()}"));
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(StartTimeout);
            server.AdminToken = (await File.ReadAllTextAsync(tokenFile)).Trim();
            server._scraper?.Start();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    public TimeSpan CpuTime() => ProcStat.CpuTime(Pid);

    public long PeakRssBytes() => ProcStat.PeakRssBytes(Pid);

    public string Output()
    {
        lock (_output) return _output.ToString();
    }

    /// <summary>SIGTERM (what systemd and docker send), then a kill if it does not stop within 30 s.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_scraper is not null) await _scraper.DisposeAsync();
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill.WaitForExitAsync();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(grace.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
        }
        _process.Dispose();
        File.Delete(_tokenFile);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
