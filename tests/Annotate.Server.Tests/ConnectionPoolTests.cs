using System.Collections.Concurrent;
using Annotate.Contracts.V1;
using Annotate.Server.Hosting;
using Npgsql;
using Xunit.Abstractions;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// The server's PostgreSQL connections are bounded by its pool (Annotate:Database:MaxConnections, or the connection
/// string's Maximum Pool Size): replicas under load fit PostgreSQL's max_connections beside other clients, streams hold no
/// connection while they wait, and a call that finds every connection busy is answered UNAVAILABLE, never INTERNAL.
/// </summary>
public sealed class ConnectionPoolTests(FewConnections pg, ITestOutputHelper output) : IClassFixture<FewConnections>
{
    private const string Article = "russia-involvement-kazakhstan-crisis";

    [Fact]
    public async Task Two_replicas_under_load_beside_two_other_clients_fit_max_connections_answer_no_internal_and_drop_no_stream()
    {
        // Two replicas on one database, told apart by their application names.
        var connectionString = await pg.DatabaseAsync();
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-pool-admin-{Guid.NewGuid():N}");
        await using var a = Replica(connectionString, "annotate-a", tokenFile);
        await using var b = Replica(connectionString, "annotate-b", tokenFile);
        await Task.WhenAll(a.StartAsync(), b.StartAsync());
        using var channelA = GrpcChannel.ForAddress(a.Address);
        using var channelB = GrpcChannel.ForAddress(b.Address);
        GrpcChannel[] replicas = [channelA, channelB];
        var admin = AnnotateServer.As(a.AdminToken);
        File.Delete(tokenFile);
        var analysts = new List<string>();
        for (var i = 0; i < 4; i++) analysts.Add(await AnalystAsync(channelA, admin, $"loaded{i}"));
        var claim = (await channelA.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = Article, Selector = At(0, 40), Statement = "under load" },
            admin)).ClaimId;
        var start = (await channelA.Audit().GetChainHeadAsync(new GetChainHeadRequest(), Deadline(admin))).Position;

        // Streams on both replicas, open through the whole run: each must deliver every event (Subscribe) and every
        // change of the claim (WatchArticle) without ending.
        using var stop = new CancellationTokenSource();
        var arrived = new Signal();
        var subscribers = new List<StreamReader<SubscribeResponse>>();
        var watchers = new List<StreamReader<WatchArticleResponse>>();
        foreach (var channel in replicas)
        {
            for (var i = 0; i < 4; i++)
            {
                subscribers.Add(new StreamReader<SubscribeResponse>(
                    channel.History().Subscribe(new SubscribeRequest { AfterPosition = start }, Streaming(admin, stop.Token)), arrived));
                watchers.Add(new StreamReader<WatchArticleResponse>(
                    channel.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = Article }, Streaming(admin, stop.Token)),
                    arrived));
            }
        }
        Assert.True(await arrived.WaitUntilAsync(
            () => subscribers.All(s => s.Has(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition))
                && watchers.All(w => w.Has(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition)),
            TimeSpan.FromSeconds(60)), "the streams did not catch up");

        // Two other clients (an admin's psql), connected while the replicas run and held open through the load.
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var desk = await pg.OtherClientAsync(database);
        await using var desk2 = await pg.OtherClientAsync(database);

        // The replicas' connections, sampled by one of the other clients while the load runs.
        var peak = new ConcurrentDictionary<string, long>();
        var sampling = SampleAsync(desk, peak, stop.Token);

        var wrong = new ConcurrentBag<string>();
        var unavailable = new ConcurrentBag<Func<Task>>();
        var (ok, readsUnavailable) = (0, 0);
        async Task Call(string what, Func<Task> call, bool command)
        {
            try
            {
                await call();
                Interlocked.Increment(ref ok);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable)
            {
                if (command) unavailable.Add(call); // the same request again, with its request id
                else Interlocked.Increment(ref readsUnavailable);
            }
            catch (RpcException e)
            {
                wrong.Add($"{what}: {e.StatusCode} {e.Status.Detail}");
            }
        }

        async Task WorkerAsync(int replica, int worker)
        {
            var channel = replicas[replica];
            var who = analysts[worker % analysts.Count];
            for (var i = 0; i < 12; i++)
            {
                var rid = $"load-{replica}-{worker}-{i}";
                if (i % 2 == 0)
                {
                    var request = new CreateHighlightRequest { RequestId = rid, ArticleId = Article, Selector = At(i * 7, i * 7 + 5) };
                    await Call(rid, () => channel.Annotations().CreateHighlightAsync(request, Deadline(who)).ResponseAsync, command: true);
                }
                else
                {
                    var request = new TakeStanceRequest
                    {
                        RequestId = rid,
                        ClaimId = claim,
                        Stance = (Stance)(1 + (worker + i) % 4),
                        Rationale = "load",
                    };
                    await Call(rid, () => channel.Claims().TakeStanceAsync(request, Deadline(who)).ResponseAsync, command: true);
                }
                await Call(
                    "GetClaimView",
                    () => channel.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, Deadline(who)).ResponseAsync,
                    command: false);
                await Call("ListHighlights", () => channel.Annotations()
                    .ListHighlightsAsync(new ListHighlightsRequest { ArticleId = Article }, Deadline(who)).ResponseAsync, command: false);
                await Call("ListClaims", () => channel.Consensus()
                    .ListClaimsAsync(new ListClaimsRequest { ArticleId = Article }, Deadline(who)).ResponseAsync, command: false);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 2).SelectMany(r => Enumerable.Range(0, 16).Select(w => Task.Run(() => WorkerAsync(r, w)))));
        var firstUnavailable = unavailable.Count;
        foreach (var retry in unavailable) await RetryAsync(retry);
        Assert.Equal(1L, await ScalarAsync<long>(desk2, "SELECT 1::bigint")); // the other clients still work

        // Every stream delivers everything that was committed, in order, and none has ended.
        var replayed = new List<ulong>();
        using (var replay = channelA.History().Replay(new ReplayRequest { FromPosition = start + 1 }, Deadline(admin)))
        {
            await foreach (var e in replay.ResponseStream.ReadAllAsync()) replayed.Add(e.Position);
        }
        var final = await channelA.Consensus().GetClaimViewAsync(new GetClaimViewRequest { ClaimId = claim }, Deadline(admin));
        var delivered = await arrived.WaitUntilAsync(
            () => subscribers.All(s => s.Has(m => m.Event?.Position == replayed[^1]) || s.Ended is not null)
                && watchers.All(w => w.Has(m => m.View?.LastPosition == final.LastPosition) || w.Ended is not null),
            TimeSpan.FromSeconds(120));
        await stop.CancelAsync();
        await sampling;

        output.WriteLine($"{ok} calls answered, {firstUnavailable} commands and {readsUnavailable} reads UNAVAILABLE (commands retried), " +
            $"{replayed.Count} events; peak connections: {string.Join(", ", peak.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}");
        Assert.True(wrong.IsEmpty, $"answers other than OK or UNAVAILABLE:\n{string.Join("\n", wrong.Take(20))}");
        var ended = subscribers.Select(s => s.Ended).Concat(watchers.Select(w => w.Ended)).OfType<Exception>().ToList();
        Assert.True(ended.Count == 0, $"{ended.Count} streams ended:\n{string.Join("\n", ended.Take(5))}");
        Assert.True(delivered, "a stream did not deliver every event");
        foreach (var s in subscribers)
            Assert.Equal(replayed, s.Messages.Where(m => m.Event is not null).Select(m => m.Event.Position).ToList());
        Assert.All(peak, p => Assert.True(p.Value <= ServerOptions.DefaultMaxConnections, $"{p.Key} held {p.Value} connections"));
        foreach (var server in new[] { a, b })
            Assert.DoesNotContain("Fault", server.Stdout);
    }

    [Fact]
    public async Task A_command_that_finds_every_connection_busy_is_answered_unavailable_within_the_wait_and_its_retry_is_recorded()
    {
        var connectionString = await pg.DatabaseAsync();
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-pool-admin-{Guid.NewGuid():N}");
        await using var server = new ServerProcess(connectionString, tokenFile, null, null,
            "--Annotate:Database:MaxConnections=2", "--Annotate:Database:ConnectionTimeout=1");
        await server.StartAsync();
        Assert.Contains("at most 2 connections, a call waits up to 1 s for one", server.Stdout);
        var admin = server.AdminToken;
        File.Delete(tokenFile);
        using var channel = GrpcChannel.ForAddress(server.Address);

        // A subscriber: from now on the live hub's LISTEN holds one of the two connections.
        using var stop = new CancellationTokenSource();
        var arrived = new Signal();
        var subscriber = new StreamReader<SubscribeResponse>(
            channel.History().Subscribe(new SubscribeRequest(), Streaming(AnnotateServer.As(admin), stop.Token)), arrived);
        Assert.True(await arrived.WaitUntilAsync(() => subscriber.Has(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition),
            TimeSpan.FromSeconds(60)), "the subscriber did not catch up");

        // An admin locks every table of the server's schema: a read holds the other connection while it waits for the lock.
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var locker = new NpgsqlConnection(pg.SuperuserOn(database));
        await locker.OpenAsync();
        var tables = await ScalarAsync<string>(locker,
            "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables WHERE schemaname = 'annotate'");
        var transaction = await locker.BeginTransactionAsync();
        await using (var lockAll = new NpgsqlCommand($"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE", locker, transaction))
            await lockAll.ExecuteNonQueryAsync();
        var held = channel.Articles().GetArticleAsync(new GetArticleRequest { ArticleId = Article }, Deadline(admin)).ResponseAsync;
        Assert.True(await PollAsync(pg.SuperuserOn(database),
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' " +
            $"AND application_name = '{AnnotateDatabase.ApplicationName}'", n => n == 1), "no read of the server waits for the lock");

        // Npgsql's own wait (15 s) would outlast the deadline: the answer comes from the configured 1 s.
        var request = new CreateHighlightRequest { RequestId = Rid(), ArticleId = Article, Selector = At(10, 20) };
        var refused = await RefusedAsync(StatusCode.Unavailable,
            () => channel.Annotations().CreateHighlightAsync(
                request, new CallOptions(AnnotateServer.As(admin).Headers, DateTime.UtcNow.AddSeconds(12))));
        Assert.StartsWith("Every database connection of this server is in use", refused.Status.Detail);

        await transaction.CommitAsync();
        await held; // the waiting read answers once the lock is gone
        var recorded = await channel.Annotations().CreateHighlightAsync(request, Deadline(admin));
        Assert.False(recorded.Result.Deduplicated, "the refused command had been recorded");
        Assert.True(await arrived.WaitUntilAsync(
            () => subscriber.Has(m => m.Event?.Position == recorded.Result.Position) || subscriber.Ended is not null,
            TimeSpan.FromSeconds(60)), "the subscriber did not deliver the retried command's event");
        Assert.Null(subscriber.Ended);
        await stop.CancelAsync();
        Assert.DoesNotContain("Fault", server.Stdout);
    }

    [Fact]
    public async Task Fifty_streams_on_a_pool_of_three_connections_all_catch_up_and_deliver_because_none_holds_a_connection_while_it_waits()
    {
        var connectionString = await pg.DatabaseAsync();
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-pool-admin-{Guid.NewGuid():N}");
        // Three: the writer's, the LISTEN's and one for every read.
        await using var server = new ServerProcess(connectionString, tokenFile, null, null, "--Annotate:Database:MaxConnections=3");
        await server.StartAsync();
        var admin = server.AdminToken;
        File.Delete(tokenFile);
        using var channel = GrpcChannel.ForAddress(server.Address);
        var claim = (await channel.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = Article, Selector = At(0, 40), Statement = "watched" },
            Deadline(admin))).ClaimId;

        using var stop = new CancellationTokenSource();
        var arrived = new Signal();
        var subscribers = Enumerable.Range(0, 25).Select(_ => new StreamReader<SubscribeResponse>(
            channel.History().Subscribe(new SubscribeRequest(), Streaming(AnnotateServer.As(admin), stop.Token)), arrived)).ToList();
        var watchers = Enumerable.Range(0, 25).Select(_ => new StreamReader<WatchArticleResponse>(
            channel.Consensus().WatchArticle(
                new WatchArticleRequest { ArticleId = Article }, Streaming(AnnotateServer.As(admin), stop.Token)),
            arrived)).ToList();
        Assert.True(await arrived.WaitUntilAsync(
            () => subscribers.All(s => s.Has(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition) || s.Ended is not null)
                && watchers.All(w => w.Has(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition)
                    || w.Ended is not null),
            TimeSpan.FromSeconds(120)), "the streams did not catch up");

        CommandResult last = null!;
        foreach (var stance in new[] { Stance.Supports, Stance.Refutes, Stance.NeedsContext })
        {
            last = await channel.Claims().TakeStanceAsync(
                new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = stance, Rationale = "watched" }, Deadline(admin));
        }
        Assert.True(await arrived.WaitUntilAsync(
            () => subscribers.All(s => s.Has(m => m.Event?.Position == last.Position) || s.Ended is not null)
                && watchers.All(w => w.Has(m => m.View?.LastPosition == last.Position) || w.Ended is not null),
            TimeSpan.FromSeconds(120)), "a stream did not deliver the last change");
        var ended = subscribers.Select(s => s.Ended).Concat(watchers.Select(w => w.Ended)).OfType<Exception>().ToList();
        Assert.True(ended.Count == 0, $"{ended.Count} streams ended:\n{string.Join("\n", ended.Take(5))}");
        Assert.InRange(await Sql.ScalarAsync<long>(pg.SuperuserOn(new NpgsqlConnectionStringBuilder(connectionString).Database!),
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                + $"AND application_name = '{AnnotateDatabase.ApplicationName}'"), 1, 3);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task The_connection_strings_own_pool_size_and_timeout_win_over_the_settings()
    {
        var connectionString = await pg.DatabaseAsync();
        var tokenFile = Path.Combine(Path.GetTempPath(), $"annotate-pool-admin-{Guid.NewGuid():N}");
        await using var server = new ServerProcess(connectionString + ";MaxPoolSize=4;Timeout=7", tokenFile, null, null,
            "--Annotate:Database:MaxConnections=9", "--Annotate:Database:ConnectionTimeout=2");
        await server.StartAsync();
        File.Delete(tokenFile);
        Assert.Contains("at most 4 connections, a call waits up to 7 s for one", server.Stdout);

        await using var configured = new ServerProcess(connectionString, tokenFile, null, null, "--Annotate:Database:MaxConnections=9");
        await configured.StartAsync();
        Assert.Contains(
            $"at most 9 connections, a call waits up to {ServerOptions.DefaultConnectionTimeoutSeconds} s for one", configured.Stdout);
    }

    [Theory]
    [InlineData("MaxConnections", "1", "is not a whole number from 2 to 10000 (the writer and the live hub's LISTEN take one each).")]
    [InlineData("ConnectionTimeout", "0.5", "is not a whole number from 1 to 1024 (seconds).")]
    public async Task An_invalid_pool_setting_is_named_on_stderr_and_the_server_exits_with_code_2(string key, string value, string why)
    {
        var connectionString = await pg.DatabaseAsync();
        using var server = ServerProcess.Start(["--urls", $"http://127.0.0.1:{ServerProcess.FreePort()}",
            $"--ConnectionStrings:Annotate={connectionString}", $"--Annotate:Database:{key}={value}"]);
        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Equal($"Annotate:Database:{key}: \"{value}\" {why}", server.Stderr.Trim());
    }

    /// <summary>Asks <paramref name="sql"/> again (a new session each time, so a new snapshot of the statistics) until its count
    /// satisfies <paramref name="done"/>; false after a minute.</summary>
    private static async Task<bool> PollAsync(string connectionString, string sql, Func<long, bool> done)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!done(await Sql.ScalarAsync<long>(connectionString, sql)))
        {
            if (DateTime.UtcNow > until) return false;
            await timer.WaitForNextTickAsync();
        }
        return true;
    }

    /// <summary>A replica with the default pool, as the application role under its own application name; not started.</summary>
    private static ServerProcess Replica(string connectionString, string name, string tokenFile) =>
        new(new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = name }.ConnectionString, tokenFile);

    /// <summary>The highest number of connections each replica (by application name) held at any sample.</summary>
    private static async Task SampleAsync(NpgsqlConnection conn, ConcurrentDictionary<string, long> peak, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                await using var cmd = new NpgsqlCommand(
                    $"SELECT application_name, count(*) FROM pg_stat_activity WHERE usename = '{FewConnections.AppRole}' GROUP BY 1", conn);
                await using var r = await cmd.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct)) peak.AddOrUpdate(r.GetString(0), r.GetInt64(1), (_, seen) => Math.Max(seen, r.GetInt64(1)));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>What a client's retry policy does with UNAVAILABLE: the same request again, with a short pause, until answered.</summary>
    private static async Task RetryAsync(Func<Task> call)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await call();
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    private static CallOptions Deadline(string token) => new(AnnotateServer.As(token).Headers, DateTime.UtcNow.AddSeconds(60));

    private static CallOptions Deadline(CallOptions who) => new(who.Headers, DateTime.UtcNow.AddSeconds(60));

    private static async Task<string> AnalystAsync(GrpcChannel channel, CallOptions admin, string id)
    {
        await channel.Admin().CreateAnalystAsync(
            new CreateAnalystRequest { RequestId = Rid(), AnalystId = id, DisplayName = id, Roles = { Role.Analyst } }, admin);
        return (await channel.Admin().IssueTokenAsync(
            new IssueTokenRequest { RequestId = Rid(), AnalystId = id, Label = "t" }, admin)).Secret;
    }

    /// <summary>Reads a server stream in the background: its messages as they arrive, and how it ended if it did.</summary>
    private sealed class StreamReader<T>
    {
        private readonly List<T> _messages = [];
        private readonly Signal _arrived;

        public StreamReader(AsyncServerStreamingCall<T> call, Signal arrived)
        {
            _arrived = arrived;
            _ = Task.Run(async () =>
            {
                try
                {
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                        lock (_messages) _messages.Add(call.ResponseStream.Current);
                        _arrived.Pulse();
                    }
                    Ended = new InvalidOperationException("the server ended the stream");
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
                {
                    // ended by the test
                }
                catch (Exception e)
                {
                    Ended = e;
                }
                finally
                {
                    call.Dispose();
                    _arrived.Pulse();
                }
            });
        }

        public Exception? Ended { get; private set; }

        public List<T> Messages { get { lock (_messages) return [.. _messages]; } }

        public bool Has(Func<T, bool> match)
        {
            lock (_messages) return _messages.Any(match);
        }
    }
}
