using System.Collections.Concurrent;
using Annotate.Contracts;
using Annotate.Contracts.V1;
using Annotate.Postgres;
using Annotate.Testing;
using Xunit.Abstractions;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// The database dies under load: this test's own PostgreSQL cluster is killed (SIGKILL, by the postmaster's pid) while
/// analysts send commands, and started again. Every command is acknowledged or UNAVAILABLE, never INTERNAL; every
/// acknowledged one is stored exactly once; retrying each UNAVAILABLE one with its request id leaves exactly one event.
/// </summary>
public sealed class OutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Seed = "russia-involvement-kazakhstan-crisis";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"annotate-outage-{Guid.NewGuid():N}"[..30]);
    private readonly string _tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-outage-admin-{Guid.NewGuid():N}");
    private EmbeddedPostgresOptions _options = null!;
    private EmbeddedPostgres _postgres = null!;
    private ServerProcess _server = null!;
    private GrpcChannel _channel = null!;
    private string _admin = "";

    public async Task InitializeAsync()
    {
        _options = new EmbeddedPostgresOptions { DataDirectory = _dir, Settings = new Dictionary<string, string> { ["fsync"] = "off" } };
        _postgres = await EmbeddedPostgres.StartAsync(_options);
        _options = _options with { Port = _postgres.Port }; // started again on the same port, as a restarted database is
        var address = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        _server = ServerProcess.Start([
            "--urls",
            address,
            $"--ConnectionStrings:Annotate={_postgres.ConnectionString}",
            $"--Annotate:AdminTokenFile={_tokenFile}",
        ]);
        await _server.WaitForOutputAsync($"Annotate listening on {address}");
        _admin = (await File.ReadAllTextAsync(_tokenFile)).Trim();
        _channel = GrpcChannel.ForAddress(address);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_server is not null)
        {
            await _server.TerminateAsync();
            _server.Dispose();
        }
        if (_postgres is not null) await _postgres.StopAsync();
        File.Delete(_tokenFile);
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private CallOptions Admin => AnnotateServer.As(_admin);

    /// <summary>SIGKILL to the postmaster named in the cluster's lock file; returns once it is gone (or only a zombie).</summary>
    private async Task KillPostgresAsync()
    {
        var pid = int.Parse(
            File.ReadLines(Path.Combine(_dir, "pgdata", "postmaster.pid")).First().Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        using (
            var kill = System.Diagnostics.Process.Start("kill", ["-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        var gone = new Signal();
        using var ticker = new Timer(_ => gone.Pulse(), null, 20, 20);
        Assert.True(await gone.WaitUntilAsync(() => !IsRunning(pid), TimeSpan.FromSeconds(30)), $"PostgreSQL (pid {pid}) did not die");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException) { return false; }
    }

    [Fact]
    public async Task Commands_during_a_database_crash_are_acknowledged_or_unavailable_and_retries_store_each_exactly_once()
    {
        var who = AnnotateServer.As(await AnalystAsync("outage-analyst"));
        var acknowledged = new ConcurrentDictionary<string, ulong>();
        var unavailable = new ConcurrentBag<string>();
        var wrong = new ConcurrentBag<string>();
        var progress = new Signal();
        var stop = new CancellationTokenSource();

        async Task WorkerAsync(int worker)
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var rid = $"outage-{worker}-{i}";
                try
                {
                    var created = await _channel
                        .Annotations()
                        .CreateHighlightAsync(
                            new CreateHighlightRequest
                            {
                                RequestId = rid,
                                ArticleId = Seed,
                                Selector = At(i % 50, i % 50 + 5),
                            },
                            Deadline(who, 60));
                    acknowledged[rid] = created.Result.Position;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
                {
                    unavailable.Add(rid);
                }
                catch (RpcException e)
                {
                    wrong.Add($"{rid}: {e.StatusCode} {e.Status.Detail}");
                }
                progress.Pulse();
            }
        }

        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(() => WorkerAsync(w))).ToList();
        Assert.True(
            await progress.WaitUntilAsync(() => acknowledged.Count >= 20, TimeSpan.FromSeconds(60)),
            "no commands acknowledged before the crash");
        await KillPostgresAsync();
        Assert.True(
            await progress.WaitUntilAsync(() => unavailable.Count >= 8 || !wrong.IsEmpty, TimeSpan.FromSeconds(60)),
            "no command saw the outage");
        _postgres = await EmbeddedPostgres.StartAsync(_options);
        var before = acknowledged.Count;
        Assert.True(await progress.WaitUntilAsync(() => acknowledged.Count >= before + 20 || !wrong.IsEmpty, TimeSpan.FromSeconds(120)),
            $"commands did not recover after the restart; server output:\n{_server.Stdout}");
        await stop.CancelAsync();
        await Task.WhenAll(workers);

        Assert.True(wrong.IsEmpty, $"answers other than OK or UNAVAILABLE:\n{string.Join("\n", wrong.Take(20))}");
        var retried = new Dictionary<string, ulong>();
        var committedBeforeTheirAnswer = 0;
        foreach (var rid in unavailable)
        {
            var result = await RetryAsync(rid, who);
            retried[rid] = result.Position;
            if (result.Deduplicated) committedBeforeTheirAnswer++;
        }
        var events = new List<HistoryEvent>();
        using (var call = _channel.History().Replay(new ReplayRequest { FromPosition = 1 }, Deadline(Admin, 60)))
        {
            await foreach (var e in call.ResponseStream.ReadAllAsync()) events.Add(e);
        }
        var byRequest = events.GroupBy(e => e.RequestId).ToDictionary(g => g.Key, g => g.ToList());
        Assert.All(acknowledged.Concat(retried), pair =>
        {
            Assert.True(byRequest.TryGetValue(pair.Key, out var stored) && stored.Count == 1,
                $"{pair.Key} is stored {(stored?.Count ?? 0)} times");
            Assert.Equal(pair.Value, stored![0].Position);
        });
        Assert.DoesNotContain("answered INTERNAL", _server.Stdout);
        output.WriteLine($"{acknowledged.Count} acknowledged, {unavailable.Count} UNAVAILABLE, of which {committedBeforeTheirAnswer} had been stored before their answer");
    }

    /// <summary>
    /// What a client's retry policy does with UNAVAILABLE: send the same request again, with a short pause, until the
    /// server answers (here within a minute). The answer is the one result of that request id.
    /// </summary>
    private async Task<CommandResult> RetryAsync(string rid, CallOptions who)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var created = await _channel
                    .Annotations()
                    .CreateHighlightAsync(
                        new CreateHighlightRequest
                        {
                            RequestId = rid,
                            ArticleId = Seed,
                            Selector = At(0, 5),
                        },
                        Deadline(who, 30));
                return created.Result;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }

    private static CallOptions Deadline(CallOptions who, int seconds) => new(who.Headers, DateTime.UtcNow.AddSeconds(seconds));

    private async Task<string> AnalystAsync(string id)
    {
        await _channel
            .Admin()
            .CreateAnalystAsync(
                new CreateAnalystRequest
                {
                    RequestId = Rid(),
                    AnalystId = id,
                    DisplayName = id,
                    Roles = { Role.Analyst },
                },
                Admin);
        return (
            await _channel
                .Admin()
                .IssueTokenAsync(
                    new IssueTokenRequest
                    {
                        RequestId = Rid(),
                        AnalystId = id,
                        Label = "t",
                    },
                    Admin)
        ).Secret;
    }
}
