using Annotate.Testing;
using Npgsql;

namespace Annotate.Server.Tests;

/// <summary>The server pointed at an existing PostgreSQL through ConnectionStrings__Annotate.</summary>
public sealed class ServerConfigurationTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>, IDisposable
{
    private readonly DataDirectory _data = new();

    [Fact]
    public async Task A_configured_connection_string_bypasses_the_embedded_cluster()
    {
        var port = ServerProcess.FreePort();
        using var server = ServerProcess.Start(["--data-dir", _data.Path, "--urls", $"http://127.0.0.1:{port}"],
            new Dictionary<string, string> { ["ConnectionStrings__Annotate"] = db.ConnectionString });

        await server.WaitForOutputAsync($"Annotate listening on http://127.0.0.1:{port}");

        var configured = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        Assert.Contains($"{configured.Host}:{configured.Port}/{configured.Database} (configured)", server.Stdout);
        // The data folder holds the first admin's token (its default place), and no cluster.
        Assert.False(Directory.Exists(_data.Cluster), "the embedded cluster's folder was created");
        Assert.Equal(["admin-token"], Directory.GetFileSystemEntries(_data.Path).Select(Path.GetFileName));
        Assert.True(await Sql.ServerSessionsAsync(db.ConnectionString) >= 1, "the server holds no session on the configured database");
        if (!string.IsNullOrEmpty(configured.Password)) Assert.DoesNotContain(configured.Password, server.Stdout + server.Stderr);
        Assert.Equal(0, await server.TerminateAsync());
        Assert.Equal(0, await Sql.ServerSessionsAfterExitAsync(db.ConnectionString, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task An_unreachable_configured_database_is_named_on_stderr_without_its_password()
    {
        var deadPort = ServerProcess.FreePort(); // nothing listens there
        using var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}"],
            new Dictionary<string, string>
            {
                ["ConnectionStrings__Annotate"] =
                    $"Host=127.0.0.1;Port={deadPort};Username=nobody;Password=hunter2-secret;Database=gone;Timeout=5",
            });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains($"Cannot connect to PostgreSQL at 127.0.0.1:{deadPort}/gone", server.Stderr);
        Assert.DoesNotContain("hunter2-secret", server.Stdout + server.Stderr);
        Assert.DoesNotContain("   at ", server.Stderr);
    }

    [Fact]
    public async Task An_invalid_read_replica_connection_string_is_named_on_stderr_and_the_server_exits_with_code_2()
    {
        using var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}"],
            new Dictionary<string, string>
            {
                ["ConnectionStrings__Annotate"] = db.ConnectionString,
                ["ConnectionStrings__AnnotateReadOnly"] = "Host=replica;Password=hunter2-secret;Replica Lag Please=1",
            });

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.StartsWith("ConnectionStrings:AnnotateReadOnly is not a valid Npgsql connection string", server.Stderr.Trim());
        Assert.DoesNotContain("hunter2-secret", server.Stdout + server.Stderr);
        Assert.DoesNotContain("   at ", server.Stderr);
    }

    [Fact]
    public async Task An_invalid_web_url_is_named_on_stderr_and_the_server_exits_with_code_2()
    {
        using var server = ServerProcess.Start(
            ["--data-dir", _data.Path, "--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}", "--Annotate:WebUrls=ftp://x"]);

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Equal("Annotate:WebUrls: \"ftp://x\" is not an http://host:port address.", server.Stderr.Trim());
        Assert.DoesNotContain("   at ", server.Stdout + server.Stderr);
        Assert.False(Directory.Exists(_data.Cluster), "the embedded cluster was started for a server that cannot serve");
    }

    public void Dispose() => _data.Dispose();
}
