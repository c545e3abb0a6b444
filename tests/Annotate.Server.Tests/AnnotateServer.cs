using Annotate.Contracts.V1;
using Annotate.Testing;

namespace Annotate.Server.Tests;

/// <summary>
/// Class fixture: the real server as a child process on a fresh database of the shared test PostgreSQL,
/// with a gRPC channel to it (Grpc.Net.Client; the generated clients on it are in <see cref="Clients"/>) and the first
/// admin's token.
/// </summary>
public class AnnotateServer : IAsyncLifetime
{
    private readonly PostgresDatabase _database = new();
    private readonly string _tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-admin-{Guid.NewGuid():N}");
    private ServerProcess? _process;

    public GrpcChannel Channel { get; private set; } = null!;
    public string Address { get; private set; } = "";
    public string AdminToken { get; private set; } = "";
    public string ConnectionString => _database.ConnectionString;
    internal ServerProcess Process => _process ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        var port = ServerProcess.FreePort();
        Address = $"http://127.0.0.1:{port}";
        _process = ServerProcess.Start([
            "--urls",
            Address,
            $"--ConnectionStrings:Annotate={ServerConnectionString(_database.ConnectionString)}",
            $"--Annotate:AdminTokenFile={_tokenFile}",
            .. MoreArguments,
        ]);
        await _process.WaitForOutputAsync($"Annotate listening on {Address}");
        AdminToken = (await File.ReadAllTextAsync(_tokenFile)).Trim();
        Channel = GrpcChannel.ForAddress(Address);
    }

    /// <summary>Settings a fixture derived from this one adds to the server's command line.</summary>
    protected virtual IEnumerable<string> MoreArguments => [];

    /// <summary>The connection string the server gets (a derived fixture may add pool settings).</summary>
    protected virtual string ServerConnectionString(string database) => database;

    public async Task DisposeAsync()
    {
        Channel?.Dispose();
        if (_process is not null)
        {
            await _process.TerminateAsync();
            // ANNOTATE_TEST_SERVER_LOGS=<dir>: keep each server's output there, to read a fault the client saw only as INTERNAL.
            if (Environment.GetEnvironmentVariable("ANNOTATE_TEST_SERVER_LOGS") is { Length: > 0 } logs)
            {
                Directory.CreateDirectory(logs);
                await File.WriteAllTextAsync(
                    Path.Combine(logs, $"server-{_process.Pid}.log"),
                    $"{_process.Stdout}\n--- stderr ---\n{_process.Stderr}\n");
            }
            _process.Dispose();
        }
        File.Delete(_tokenFile);
        await _database.DisposeAsync();
    }

    /// <summary>Call options of one call as the holder of <paramref name="token"/>, with a 30 s deadline.</summary>
    public static CallOptions As(string token) =>
        new(new Metadata { { "authorization", $"Bearer {token}" } }, DateTime.UtcNow.AddSeconds(30));

    public CallOptions Admin => As(AdminToken);

    /// <summary>Registers an analyst with roles and returns a token for them.</summary>
    public async Task<string> AnalystAsync(string id, params Role[] roles)
    {
        var create = new CreateAnalystRequest { RequestId = Guid.NewGuid().ToString(), AnalystId = id, DisplayName = id };
        create.Roles.AddRange(roles);
        await Channel.Admin().CreateAnalystAsync(create, Admin);
        var issued = await Channel.Admin().IssueTokenAsync(
            new IssueTokenRequest { RequestId = Guid.NewGuid().ToString(), AnalystId = id, Label = "test" }, Admin);
        return issued.Secret;
    }

    private int _unique;

    /// <summary>A name no other test of this class uses (analyst ids, article ids).</summary>
    public string Unique(string prefix) => $"{prefix}-{Interlocked.Increment(ref _unique)}";

    /// <summary>An analyst with a unique id and the given roles, as call options carrying their token.</summary>
    public async Task<(string Id, CallOptions Options)> NewAnalystAsync(string prefix, params Role[] roles)
    {
        var id = Unique(prefix);
        return (id, As(await AnalystAsync(id, roles)));
    }

    /// <summary>Imports a fresh article with <paramref name="text"/> (as the admin) and returns its id.</summary>
    public async Task<string> ImportAsync(string text, string prefix = "article")
    {
        var id = Unique(prefix);
        await Channel
            .Articles()
            .ImportArticleAsync(
                new ImportArticleRequest
                {
                    RequestId = Guid.NewGuid().ToString(),
                    ArticleId = id,
                    Title = $"Title of {id}",
                    Text = text,
                    Source = "test",
                },
                Admin);
        return id;
    }

    /// <summary>The events of a range, as the admin replays them.</summary>
    public async Task<List<HistoryEvent>> ReplayAsync(ReplayRequest request)
    {
        using var call = Channel.History().Replay(request, Admin);
        var events = new List<HistoryEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        return events;
    }

    /// <summary>Every event whose request id is <paramref name="requestId"/>.</summary>
    public async Task<List<HistoryEvent>> EventsOfRequestAsync(string requestId) =>
        (await ReplayAsync(new ReplayRequest { FromPosition = 1 })).Where(e => e.RequestId == requestId).ToList();
}
