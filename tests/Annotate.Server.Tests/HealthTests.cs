using Annotate.Contracts.V1;
using Annotate.Postgres;
using Annotate.Server.Hosting;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Npgsql;
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
        _options = new EmbeddedPostgresOptions
        {
            DataDirectory = _dir,
            Database = "annotate",
            Settings = new Dictionary<string, string> { ["fsync"] = "off" },
        };
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
        using var server = ServerProcess.Start(
            ["--urls", address, $"--ConnectionStrings:Annotate={_postgres.ConnectionString}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        await server.WaitForOutputAsync($"Annotate listening on {address}");
        using var channel = GrpcChannel.ForAddress(address);
        // A bound for a broken server only: the Watch stream reports changes the periodic health run finds (every 5 s),
        // which on a loaded machine takes longer than the run itself.
        using var watching = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var watch = channel.CreateCallInvoker().AsyncServerStreamingCall(
            RawCalls.Method(MethodType.ServerStreaming, "/grpc.health.v1.Health/Watch"), null,
                new CallOptions(cancellationToken: watching.Token), new HealthCheckRequest().ToByteArray());
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
        using var server = ServerProcess.Start(
            ["--urls", address, $"--ConnectionStrings:Annotate={_postgres.ConnectionString}", $"--Annotate:AdminTokenFile={tokenFile}"]);
        await server.WaitForOutputAsync($"Annotate listening on {address}");
        using var channel = GrpcChannel.ForAddress(address);
        // A bound for a broken server only: the Watch stream reports changes the periodic health run finds (every 5 s),
        // which on a loaded machine takes longer than the run itself.
        using var watching = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var readiness = channel.CreateCallInvoker().AsyncServerStreamingCall(
            RawCalls.Method(MethodType.ServerStreaming, "/grpc.health.v1.Health/Watch"), null,
                new CallOptions(cancellationToken: watching.Token),
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

    [Fact]
    public async Task Readiness_stays_serving_while_reads_hold_every_pooled_connection()
    {
        var tokenFile = Path.Combine(_dir, "admin-token");
        // Two connections: the live hub's LISTEN holds one, a read the other.
        await using var server = new ServerProcess(_postgres.ConnectionString, tokenFile, null, null,
            "--Annotate:Database:MaxConnections=2", "--Annotate:Database:ConnectionTimeout=10");
        await server.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Address);
        using var raw = new RawCalls(channel);
        var admin = new CallOptions(new Metadata { { "authorization", $"Bearer {server.AdminToken}" } }, DateTime.UtcNow.AddMinutes(2));
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("readiness"));

        // An admin locks every table of the server's schema: a read holds the pool's other connection while it waits.
        var unpooled = new NpgsqlConnectionStringBuilder(_postgres.ConnectionString) { Pooling = false }.ConnectionString;
        await using var locker = new NpgsqlConnection(unpooled);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockAll = new NpgsqlCommand(
            "DO $$ BEGIN EXECUTE 'LOCK TABLE ' || (SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables "
            + "WHERE schemaname = 'annotate') || ' IN ACCESS EXCLUSIVE MODE'; END $$", locker, transaction))
        {
            await lockAll.ExecuteNonQueryAsync();
        }
        var held = channel.Articles().GetArticleAsync(
            new GetArticleRequest { ArticleId = "russia-involvement-kazakhstan-crisis" }, admin).ResponseAsync;
        await using var looking = new NpgsqlConnection(unpooled);
        await looking.OpenAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ;)
        {
            await using var busy = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                + $"AND application_name = '{AnnotateDatabase.ApplicationName}'", looking);
            if (Convert.ToInt64(await busy.ExecuteScalarAsync()) >= 1) break;
            Assert.True(DateTime.UtcNow < deadline, "no read of the server waits for the lock");
            // PostgreSQL signals no other session's lock wait: its activity view is polled.
            await Task.Delay(50);
        }

        // Every pooled connection is in use: the replica is busy, not unreachable, and stays in service.
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("readiness"));
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync());

        await transaction.RollbackAsync();
        Assert.Equal("russia-involvement-kazakhstan-crisis", (await held).ArticleId);
        Assert.Equal(ServingStatus.Serving, await raw.HealthAsync("readiness"));
        Assert.DoesNotContain("NOT_SERVING until", server.Stdout);
    }

    /// <summary>The next status the Watch stream sends (it sends one on start and one on each change).</summary>
    private static async Task<ServingStatus> NextStatusAsync(IAsyncStreamReader<byte[]> stream, CancellationToken ct)
    {
        Assert.True(await stream.MoveNext(ct), "the health watch ended");
        return HealthCheckResponse.Parser.ParseFrom(stream.Current).Status;
    }
}
