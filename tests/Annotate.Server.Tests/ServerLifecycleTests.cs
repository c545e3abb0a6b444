using System.Net;

namespace Annotate.Server.Tests;

/// <summary>The server as an operator runs it: its own PostgreSQL in a data folder, stopped by signals, restarted, killed.</summary>
public sealed class ServerLifecycleTests : IDisposable
{
    private readonly DataDirectory _data = new();

    [Fact]
    public async Task Server_starts_its_embedded_cluster_serves_HTTP2_and_stops_everything_on_SIGTERM()
    {
        var port = ServerProcess.FreePort();
        using var server = await ServerProcess.StartListeningAsync(_data.Path, port);

        Assert.Contains($"Initializing a new PostgreSQL cluster in {_data.Cluster}", server.Stdout);
        Assert.Contains("/annotate (embedded", server.Stdout);
        Assert.Single(_data.Postmasters());
        Assert.True(await Sql.ServerSessionsAsync(_data.ConnectionString) >= 1, "the server holds no session on its database");

        // Cleartext HTTP/2 with prior knowledge, as gRPC clients speak it.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        using var response = await http.GetAsync($"http://127.0.0.1:{port}/");
        Assert.Equal(HttpVersion.Version20, response.Version);

        Assert.Equal(0, await server.TerminateAsync());
        Assert.Contains($"Stopped PostgreSQL {_data.Cluster}", server.Stdout);
        Assert.Empty(_data.Postmasters());
        Assert.False(File.Exists(Path.Combine(_data.Cluster, "postmaster.pid")));
        Assert.Equal("", server.Stderr);
    }

    [Fact]
    public async Task Restart_reuses_the_data_directory_and_keeps_the_data()
    {
        using (var first = await ServerProcess.StartListeningAsync(_data.Path, ServerProcess.FreePort()))
        {
            await Sql.ExecAsync(_data.ConnectionString, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('survives a restart')");
            Assert.Equal(0, await first.TerminateAsync());
        }
        Assert.Empty(_data.Postmasters());

        using var second = await ServerProcess.StartListeningAsync(_data.Path, ServerProcess.FreePort());

        Assert.DoesNotContain("Initializing a new PostgreSQL cluster", second.Stdout);
        Assert.Single(_data.Postmasters());
        Assert.Equal("survives a restart", await Sql.ScalarAsync<string>(_data.ConnectionString, "SELECT v FROM kept"));
        Assert.Equal(0, await second.TerminateAsync());
        Assert.Empty(_data.Postmasters());
    }

    [Fact]
    public async Task After_kill_9_the_next_start_adopts_the_running_postmaster_and_loses_nothing()
    {
        using (var killed = await ServerProcess.StartListeningAsync(_data.Path, ServerProcess.FreePort()))
        {
            await Sql.ExecAsync(
                _data.ConnectionString,
                "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('committed before the kill')");
            await killed.KillHardAsync();
        }
        var orphan = Assert.Single(_data.Postmasters()); // the server died; its postmaster did not

        using var next = await ServerProcess.StartListeningAsync(_data.Path, ServerProcess.FreePort());

        Assert.Contains($"is still running on {_data.Cluster}", next.Stdout);
        Assert.Equal(orphan, Assert.Single(_data.Postmasters()));
        Assert.Equal("committed before the kill", await Sql.ScalarAsync<string>(_data.ConnectionString, "SELECT v FROM kept"));
        Assert.True(await Sql.ServerSessionsAsync(_data.ConnectionString) >= 1, "the server holds no session on its database");
        Assert.Equal(0, await next.TerminateAsync());
        Assert.Empty(_data.Postmasters());
    }

    [Fact]
    public async Task Missing_PostgreSQL_binaries_exit_non_zero_with_the_install_hint_and_no_stack_trace()
    {
        using var server = ServerProcess.Start([
            "--data-dir",
            _data.Path,
            "--urls",
            $"http://127.0.0.1:{ServerProcess.FreePort()}",
            "--Annotate:PostgresBinDir=/nonexistent",
        ]);

        Assert.NotEqual(0, await server.WaitForExitAsync());
        Assert.Contains("apt-get install postgresql", server.Stderr);
        Assert.DoesNotContain("   at ", server.Stderr + server.Stdout);
        Assert.DoesNotContain("Annotate listening", server.Stdout);
        Assert.False(Directory.Exists(_data.Cluster));
    }

    public void Dispose() => _data.Dispose();
}
