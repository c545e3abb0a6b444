using Annotate.Testing;

namespace Annotate.Client.Tests;

/// <summary>
/// Class fixture: a fresh database on the shared test PostgreSQL and a server on it, with an admin token.
/// Disposed: the server is stopped and the database dropped.
/// </summary>
public sealed class CliServer : IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("annotate-cli-").FullName;

    public ServerProcess Server { get; private set; } = null!;

    public string Directory_ => _dir;

    /// <summary>The database the server runs on (for tests that alter it behind the server's back).</summary>
    public string ConnectionString => _database.ConnectionString;

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Server = new ServerProcess(_database.ConnectionString, Path.Combine(_dir, "admin-token"));
        await Server.StartAsync();
    }

    /// <summary>A CLI as the admin, with its own (empty) config folder.</summary>
    public Cli Admin() => new(Server.Address, Server.AdminToken);

    /// <summary>Registers <paramref name="analystId"/> with <paramref name="roles"/> (through the CLI) and returns a CLI holding a token of
    /// theirs.</summary>
    public async Task<Cli> AnalystAsync(string analystId, params string[] roles)
    {
        var admin = Admin();
        var args = new List<string> { "admin", "analysts", "create", analystId, "--name", analystId };
        foreach (var r in roles) args.AddRange(["--role", r]);
        (await admin.RunAsync([.. args])).AssertOk();
        var issued = (await admin.RunAsync("admin", "tokens", "issue", analystId, "--json"))
            .AssertOk()
            .Json<Contracts.V1.IssueTokenResponse>();
        return new Cli(Server.Address, issued.Secret);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await _database.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}
