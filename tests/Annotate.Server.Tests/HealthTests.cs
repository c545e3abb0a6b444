using Annotate.Postgres;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Annotate.Server.Tests;

/// <summary>
/// grpc.health.v1 reports what the server can do: its own PostgreSQL stopped and started again under it. The probes' names:
/// readiness follows the database, liveness only the process.
/// </summary>
public sealed class HealthTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"annotate-health-{Guid.NewGuid():N}"[..30]);
    private EmbeddedPostgresOptions _options = null!;
    private EmbeddedPostgres _postgres = null!;

    public async Task InitializeAsync()
    {
        _options = new EmbeddedPostgresOptions { DataDirectory = _dir, Database = "annotate", Settings = new Dictionary<string, string> { ["fsync"] = "off" } };
        _postgres = await EmbeddedPostgres.StartAsync(_options);
        _options = _options with { Port = _postgres.Port }; // started again on the same port, as a restarted server would be
    }

    public async Task DisposeAsync()
    {
        await _postgres.StopAsync();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Health_is_not_serving_while_the_database_is_down_and_serving_again_after_it_returns()
    {
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(_dir, "admin-token");
        using var server = ServerProcess.Start(["--urls", address, $"--ConnectionStrings:Annotate={_postgres.ConnectionString}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        await server.WaitForOutputAsync($"Annotate listening on {address}");
        using var channel = GrpcChannel.ForAddress(address);
        // A bound for a broken server only: the Watch stream reports changes the periodic health run finds (every 5 s),
        // which on a loaded machine takes longer than the run itself.
        using var watching = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var watch = channel.CreateCallInvoker().AsyncServerStreamingCall(
            RawCalls.Method(MethodType.ServerStreaming, "/grpc.health.v1.Health/Watch"), null, new CallOptions(cancellationToken: watching.Token), new HealthCheckRequest().ToByteArray());
        using var raw = new RawCalls(channel);

        try
        {
            Assert.Equal(ServingStatus.Serving, await NextStatusAsync(watch.ResponseStream, watching.Token));
            Assert.Equal(ServingStatus.Serving, await raw.HealthAsync());

            // Check runs the checks when called; Watch hears of the change from the next periodic run.
            await _postgres.StopAsync();
            Assert.Equal(ServingStatus.NotServing, await raw.HealthAsync());
            Assert.Equal(ServingStatus.NotServing, await raw.HealthAsync("annotate.v1.Articles"));
            Assert.Equal(ServingStatus.NotServing, await NextStatusAsync(watch.ResponseStream, watching.Token));

            _postgres = await EmbeddedPostgres.StartAsync(_options);
            Assert.Equal(ServingStatus.Serving, await raw.HealthAsync());
            Assert.Equal(ServingStatus.Serving, await NextStatusAsync(watch.ResponseStream, watching.Token));
            Assert.Equal(0, await server.TerminateAsync());
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\nserver stdout:\n{server.Stdout}\nstderr:\n{server.Stderr}", e);
        }
    }

    [Fact]
    public async Task Readiness_follows_the_database_down_and_back_while_liveness_stays_serving()
    {
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var tokenFile = Path.Combine(_dir, "admin-token");
        using var server = ServerProcess.Start(["--urls", address, $"--ConnectionStrings:Annotate={_postgres.ConnectionString}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        await server.WaitForOutputAsync($"Annotate listening on {address}");
        using var channel = GrpcChannel.ForAddress(address);
        // A bound for a broken server only: the Watch stream reports changes the periodic health run finds (every 5 s),
        // which on a loaded machine takes longer than the run itself.
        using var watching = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var readiness = channel.CreateCallInvoker().AsyncServerStreamingCall(
            RawCalls.Method(MethodType.ServerStreaming, "/grpc.health.v1.Health/Watch"), null, new CallOptions(cancellationToken: watching.Token),
            new HealthCheckRequest { Service = "readiness" }.ToByteArray());
        using var raw = new RawCalls(channel);

        try
        {
            Assert.Equal(ServingStatus.Serving, await NextStatusAsync(readiness.ResponseStream, watching.Token));
            Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("readiness"));
            Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("liveness"));

            await _postgres.StopAsync();
            Assert.Equal(ServingStatus.NotServing, await raw.HealthAsync("readiness"));
            Assert.Equal(ServingStatus.NotServing, await NextStatusAsync(readiness.ResponseStream, watching.Token));
            Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("liveness"));

            _postgres = await EmbeddedPostgres.StartAsync(_options);
            Assert.Equal(ServingStatus.Serving, await NextStatusAsync(readiness.ResponseStream, watching.Token));
            Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("readiness"));
            Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("liveness"));
            Assert.Equal(0, await server.TerminateAsync());
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\nserver stdout:\n{server.Stdout}\nstderr:\n{server.Stderr}", e);
        }
    }

    /// <summary>The next status the Watch stream sends (it sends one on start and one on each change).</summary>
    private static async Task<ServingStatus> NextStatusAsync(IAsyncStreamReader<byte[]> stream, CancellationToken ct)
    {
        Assert.True(await stream.MoveNext(ct), "the health watch ended");
        return HealthCheckResponse.Parser.ParseFrom(stream.Current).Status;
    }
}
