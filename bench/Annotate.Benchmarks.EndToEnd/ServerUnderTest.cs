using Annotate.Testing;

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
/// One server process of a build, on a free loopback port and a given database, run by the tests' process harness
/// (<see cref="ServerProcess"/>: started as an operator starts it, ready once it says it listens, stopped with
/// SIGTERM), with what the benchmark reads of it: its CPU time and peak memory.
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly string _tokenFile;
    private readonly MetricsScraper? _scraper;

    private ServerUnderTest(ServerProcess process, string tokenFile, MetricsScraper? scraper)
    {
        _process = process;
        _tokenFile = tokenFile;
        _scraper = scraper;
    }

    public string Address => _process.Address;
    public int Pid => _process.Pid;
    public string AdminToken { get; private set; } = "";

    public static async Task<ServerUnderTest> StartAsync(ServerBuild build, string connectionString)
    {
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-bench-admin-{Guid.NewGuid():N}");
        // {metrics}: a Prometheus endpoint this benchmark scrapes; {otlp}: the OTLP receiver it runs.
        string? metrics = null;
        var own = new List<string>();
        foreach (var a in build.Arguments)
        {
            var arg = a;
            if (arg.Contains("{metrics}", StringComparison.Ordinal))
            {
                arg = arg.Replace("{metrics}", metrics ??= $"http://127.0.0.1:{ServerProcess.FreePort()}", StringComparison.Ordinal);
            }
            if (arg.Contains("{otlp}", StringComparison.Ordinal))
            {
                arg = arg.Replace("{otlp}", (await OtlpSink.SharedAsync()).Address, StringComparison.Ordinal);
            }
            own.Add(arg);
        }
        // The benchmark imports its own articles, so every build starts from the same data.
        var process = new ServerProcess(connectionString, tokenFile, port: null, build.Dll, ["--Annotate:ImportSeeds=false", .. own]);
        var server = new ServerUnderTest(process, tokenFile, metrics is null ? null : new MetricsScraper(metrics + "/metrics"));
        try
        {
            await process.StartAsync();
            server.AdminToken = process.AdminToken;
            server._scraper?.Start();
        }
        catch (Exception e)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"The server ({build.Label}) did not start: {e.Message}", e);
        }
        return server;
    }

    public TimeSpan CpuTime() => ProcStat.CpuTime(Pid);

    public long PeakRssBytes() => ProcStat.PeakRssBytes(Pid);

    /// <summary>SIGTERM (what systemd and docker send), then a kill if it does not stop in time.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_scraper is not null) await _scraper.DisposeAsync();
        await _process.DisposeAsync();
        File.Delete(_tokenFile);
    }
}
