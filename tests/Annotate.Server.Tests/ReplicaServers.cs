using Annotate.Contracts.V1;
using Annotate.Testing;

namespace Annotate.Server.Tests;

/// <summary>
/// Class fixture: two server processes (replicas A and B) on the SAME fresh database, started at the same moment,
/// each with its own port and admin-token file, as two containers behind a load balancer would run.
/// </summary>
public sealed class ReplicaServers : IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"annotate-replicas-{Guid.NewGuid():N}");
    private ServerProcess? _a;
    private ServerProcess? _b;

    public string ConnectionString => _database.ConnectionString;
    public string TokenFileA => Path.Combine(_folder, "a", "admin-token");
    public string TokenFileB => Path.Combine(_folder, "b", "admin-token");
    public GrpcChannel A { get; private set; } = null!;
    public GrpcChannel B { get; private set; } = null!;
    internal ServerProcess ProcessA => _a ?? throw new InvalidOperationException("not started");
    internal ServerProcess ProcessB => _b ?? throw new InvalidOperationException("not started");

    /// <summary>The first admin's token, from whichever replica wrote it.</summary>
    public string AdminToken { get; private set; } = "";

    public CallOptions Admin => AnnotateServer.As(AdminToken);

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        var (portA, portB) = (ServerProcess.FreePort(), ServerProcess.FreePort());
        while (portB == portA) portB = ServerProcess.FreePort();
        _a = ServerProcess.Start(Args(portA, TokenFileA));
        _b = ServerProcess.Start(Args(portB, TokenFileB));
        await Task.WhenAll(
            _a.WaitForOutputAsync($"Annotate listening on http://127.0.0.1:{portA}"),
            _b.WaitForOutputAsync($"Annotate listening on http://127.0.0.1:{portB}")
        );
        AdminToken = (await File.ReadAllTextAsync(File.Exists(TokenFileA) ? TokenFileA : TokenFileB)).Trim();
        A = GrpcChannel.ForAddress($"http://127.0.0.1:{portA}");
        B = GrpcChannel.ForAddress($"http://127.0.0.1:{portB}");
    }

    private string[] Args(int port, string tokenFile) =>
        [
            "--urls",
            $"http://127.0.0.1:{port}",
            $"--ConnectionStrings:Annotate={_database.ConnectionString}",
            $"--Annotate:AdminTokenFile={tokenFile}",
        ];

    public async Task DisposeAsync()
    {
        A?.Dispose();
        B?.Dispose();
        foreach (var p in new[] { _a, _b })
        {
            if (p is null) continue;
            await p.TerminateAsync();
            p.Dispose();
        }
        try { Directory.Delete(_folder, recursive: true); }
        catch (DirectoryNotFoundException) { }
        await _database.DisposeAsync();
    }

    /// <summary>Registers an analyst (through replica A) and returns a token for them.</summary>
    public async Task<(string TokenId, string Token)> AnalystAsync(string id, params Role[] roles)
    {
        var create = new CreateAnalystRequest { RequestId = Guid.NewGuid().ToString(), AnalystId = id, DisplayName = id };
        create.Roles.AddRange(roles);
        await A.Admin().CreateAnalystAsync(create, Admin);
        return await TokenAsync(id);
    }

    /// <summary>Issues another token for an analyst (through replica A).</summary>
    public async Task<(string TokenId, string Token)> TokenAsync(string id)
    {
        var issued = await A.Admin().IssueTokenAsync(
            new IssueTokenRequest { RequestId = Guid.NewGuid().ToString(), AnalystId = id, Label = "replica test" }, Admin);
        return (issued.Token.TokenId, issued.Secret);
    }
}
