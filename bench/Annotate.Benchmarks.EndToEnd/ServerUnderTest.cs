using Annotate.Testing;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>A build of the server to measure: a label for the tables and the path of its Annotate.Server.dll.</summary>
internal sealed record ServerBuild(string Label, string Dll);

/// <summary>
/// One server process of a build, on a free loopback port and a given database, run by the tests' process harness
/// (<see cref="ServerProcess"/>: started as an operator starts it, ready once it says it listens, stopped with
/// SIGTERM), with what the benchmark reads of it: its CPU time and peak memory.
/// </summary>
internal sealed class ServerUnderTest : IAsyncDisposable
{
    private readonly ServerProcess _process;
    private readonly string _tokenFile;

    private ServerUnderTest(ServerProcess process, string tokenFile)
    {
        _process = process;
        _tokenFile = tokenFile;
    }

    public string Address => _process.Address;
    public int Pid => _process.Pid;
    public string AdminToken { get; private set; } = "";

    public static async Task<ServerUnderTest> StartAsync(ServerBuild build, string connectionString)
    {
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-bench-admin-{Guid.NewGuid():N}");
        // The benchmark imports its own articles, so every build starts from the same data.
        var process = new ServerProcess(connectionString, tokenFile, port: null, build.Dll, "--Annotate:ImportSeeds=false");
        var server = new ServerUnderTest(process, tokenFile);
        try
        {
            await process.StartAsync();
            server.AdminToken = process.AdminToken;
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
        await _process.DisposeAsync();
        File.Delete(_tokenFile);
    }
}
