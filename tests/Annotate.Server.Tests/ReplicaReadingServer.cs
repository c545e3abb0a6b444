using System.Net;

namespace Annotate.Server.Tests;

/// <summary>
/// A server process on a real streaming replica's primary whose reads that may lag go to the replica
/// (<c>ConnectionStrings:AnnotateReadOnly</c>, a 200 ms wait for a position), with its Prometheus endpoint to count where
/// reads went, and the admin's call credentials.
/// </summary>
internal sealed class ReplicaReadingServer : IAsyncDisposable
{
    private readonly string _metrics;
    private readonly string _tokenFile;
    private readonly HttpClient _http = new() { DefaultRequestVersion = HttpVersion.Version11 };

    private ReplicaReadingServer(ServerProcess process, string address, string metrics, string tokenFile)
    {
        Process = process;
        Channel = GrpcChannel.ForAddress(address);
        _metrics = metrics;
        _tokenFile = tokenFile;
    }

    public ServerProcess Process { get; }
    public GrpcChannel Channel { get; }
    public CallOptions Admin { get; private set; }

    public static async Task<ReplicaReadingServer> StartAsync(StreamingReplica pair)
    {
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var metrics = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
        var process = ServerProcess.Start([
            "--urls", address,
            $"--Annotate:MetricsUrls={metrics}",
            $"--ConnectionStrings:Annotate={pair.PrimaryConnectionString}",
            $"--ConnectionStrings:AnnotateReadOnly={pair.ReplicaConnectionString}",
            "--Annotate:ReadOnlyWaitMs=200",
            $"--Annotate:AdminTokenFile={tokenFile}",
        ]);
        var server = new ReplicaReadingServer(process, address, metrics, tokenFile);
        try
        {
            await process.WaitForOutputAsync($"Reads that may lag go to the read replica 127.0.0.1:{pair.ReplicaPort}/annotate");
            server.Admin = AnnotateServer.As((await File.ReadAllTextAsync(tokenFile)).Trim());
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads served so far from <paramref name="source"/> ("replica" or "primary"), from the Prometheus endpoint.</summary>
    public async Task<double> ReadsAsync(string source)
    {
        var text = await _http.GetStringAsync($"{_metrics}/metrics");
        return PrometheusText.Parse(text).Value("annotate_reads_total", ("annotate_read_source", source));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        _http.Dispose();
        await Process.DisposeAsync();
        File.Delete(_tokenFile);
    }
}
