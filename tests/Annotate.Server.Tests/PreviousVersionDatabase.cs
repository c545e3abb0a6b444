using System.Diagnostics;
using Annotate.Contracts.V1;
using Npgsql;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// Class fixture: a database written by the previous version of the server (the last one with its own event tables,
/// <see cref="Commit"/>), made the honest way: that version is built from the repository's history
/// (bench/build-server-at.sh), run as a real process on a fresh database, and driven over gRPC; the receipts and the
/// history it answered are kept. The build is cached by commit in the temp folder, so only the first run on a machine
/// pays for it (about 2 minutes on 2 busy cores; a cached run starts at once). Each test works on its own copy of the
/// database (<see cref="CopyAsync"/>).
/// </summary>
public sealed class PreviousVersionDatabase : IAsyncLifetime
{
    /// <summary>The last commit whose server stored events in its own tables (events, streams, head).</summary>
    public const string Commit = "a98feeb";

    private readonly PostgresDatabase _database = new();
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"annotate-previous-{Guid.NewGuid():N}");
    private readonly List<string> _copies = [];

    public string TokenFile => Path.Combine(_folder, "admin-token");
    public string AdminToken { get; private set; } = "";
    public string AnalystToken { get; private set; } = "";
    public const string AnalystId = "ana-previous";

    /// <summary>Every command's result, as the previous version answered it.</summary>
    public List<CommandResult> Results { get; } = [];

    /// <summary>The stance request to retry after the move, and what the previous version answered it.</summary>
    public TakeStanceRequest StanceRequest { get; private set; } = null!;
    public CommandResult StanceResult { get; private set; } = null!;

    /// <summary>The whole history as the previous version replayed it.</summary>
    public List<HistoryEvent> History { get; private set; } = [];

    public long Head => (long)History[^1].Position;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        var dll = await BuildAsync();
        await _database.InitializeAsync();
        var previous = new ServerProcess(_database.ConnectionString, TokenFile, serverDll: dll);
        try
        {
            await previous.StartAsync();
            AdminToken = previous.AdminToken;
            using var channel = GrpcChannel.ForAddress(previous.Address);
            await DriveAsync(channel);
            History = await ReplayAsync(channel, AdminToken);
        }
        finally
        {
            await previous.DisposeAsync();
        }
    }

    /// <summary>Commands of every kind, by the admin and an analyst: analysts, tokens, articles, highlights, tags, claims and
    /// stances.</summary>
    private async Task DriveAsync(GrpcChannel channel)
    {
        var admin = AnnotateServer.As(AdminToken);
        var create = new CreateAnalystRequest { RequestId = Rid(), AnalystId = AnalystId, DisplayName = "Ana" };
        create.Roles.Add(Role.Analyst);
        await channel.Admin().CreateAnalystAsync(create, admin);
        var issued = await channel.Admin().IssueTokenAsync(
            new IssueTokenRequest { RequestId = Rid(), AnalystId = AnalystId, Label = "t" }, admin);
        Results.Add(issued.Result);
        AnalystToken = issued.Secret;
        var ana = AnnotateServer.As(AnalystToken);
        const string text = "The dam was finished in 1968. Engineers call it safe. The river floods every spring.";
        Results.Add((await channel.Articles().ImportArticleAsync(
            new ImportArticleRequest { RequestId = Rid(), ArticleId = "dam", Title = "The dam", Text = text, Source = "test" },
            admin)).Result);
        var highlight = await channel.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = "dam", Selector = Quote("Engineers call it safe."), Note = "who?" },
            ana);
        Results.Add(highlight.Result);
        Results.Add(await channel.Annotations().ApplyTagAsync(
            new ApplyTagRequest
            {
                RequestId = Rid(),
                Target = new TagTarget { HighlightId = highlight.Highlight.HighlightId },
                Tag = "needs-source",
            },
            ana));
        var claim = await channel.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = "dam", Selector = Quote("The dam was finished in 1968.") }, ana);
        Results.Add(claim.Result);
        StanceRequest = new TakeStanceRequest
        {
            RequestId = Rid(),
            ClaimId = claim.ClaimId,
            Stance = Stance.Supports,
            Rationale = "archive",
        };
        StanceResult = await channel.Claims().TakeStanceAsync(StanceRequest, ana);
        Results.Add(StanceResult);
        Results.Add((await channel.Annotations().CreateHighlightAsync(
            new CreateHighlightRequest { RequestId = Rid(), ArticleId = "dam", Selector = Quote("The river floods every spring.") },
            admin)).Result);
    }

    public static async Task<List<HistoryEvent>> ReplayAsync(GrpcChannel channel, string token)
    {
        using var call = channel.History().Replay(new ReplayRequest { FromPosition = 1 }, AnnotateServer.As(token));
        var events = new List<HistoryEvent>();
        await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        return events;
    }

    /// <summary>A fresh copy of the previous version's database (nothing connects to the original after the fixture).</summary>
    public async Task<string> CopyAsync()
    {
        var name = $"moved_{Guid.NewGuid():N}";
        var original = new NpgsqlConnectionStringBuilder(_database.ConnectionString).Database!;
        await using (var conn = new NpgsqlConnection(_database.Server.AdminConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE \"{original}\"", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var copy = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Database = name }.ConnectionString;
        _copies.Add(copy);
        return copy;
    }

    public string NewTokenFile() => Path.Combine(_folder, $"token-{Guid.NewGuid():N}");

    /// <summary>The previous version's server, built once per machine and commit (see the class summary).</summary>
    private static async Task<string> BuildAsync()
    {
        var root = RepoRoot();
        string sha;
        try
        {
            sha = (await RunAsync("git", root, "-C", root, "rev-parse", "--verify", $"{Commit}^{{commit}}")).Trim();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException(
                $"These tests build the server at commit {Commit} from the repository's history, which this clone lacks " +
                "(a shallow clone: `git fetch --unshallow`).", e);
        }
        var cached = Path.Combine(Path.GetTempPath(), $"annotate-server-{sha}");
        var dll = Path.Combine(cached, "Annotate.Server.dll");
        if (File.Exists(Path.Combine(cached, "annotate-commit")) && File.Exists(dll)) return dll;
        var building = $"{cached}.{Guid.NewGuid():N}";
        var clock = Stopwatch.StartNew();
        await RunAsync(Path.Combine(root, "bench", "build-server-at.sh"), root, sha, building);
        TestLog.Say($"Built the server at {Commit} in {clock.Elapsed.TotalSeconds:F0} s (cached in {cached})");
        try
        {
            Directory.Move(building, cached);
        }
        catch (IOException) when (File.Exists(dll))
        {
            Directory.Delete(building, recursive: true); // another run cached it first
        }
        return dll;
    }

    private static async Task<string> RunAsync(string program, string directory, params string[] args)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
        return await stdout;
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Annotate.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Annotate.sln not found above " + AppContext.BaseDirectory);
    }

    public async Task DisposeAsync()
    {
        foreach (var copy in _copies) await _database.Server.DropDatabaseAsync(copy);
        await _database.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
