using Annotate.Contracts.V1;
using Annotate.Server.Hosting;
using Annotate.Testing;
using Npgsql;
using Xunit.Abstractions;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// The server with small live buffers (so a client that stops reading overflows them after a few dozen changes) and database
/// connections that close after a second idle (a closing backend flushes its statistics, so pg_stat_database can be read
/// exactly once they have gone) and are not reset when reused (a reset would be a transaction of its own, more or fewer as
/// connections happen to be reused or opened).
/// </summary>
public sealed class LiveServer : AnnotateServer
{
    public const int WatchBuffer = 16;

    protected override IEnumerable<string> MoreArguments => [$"--Annotate:WatchBuffer={WatchBuffer}", "--Annotate:SubscriberBuffer=4"];

    protected override string ServerConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(database)
        {
            ConnectionIdleLifetime = 1,
            ConnectionPruningInterval = 1,
            NoResetOnClose = true,
        }.ToString();
}

/// <summary>Live views are computed once per change and shared by every watcher; a client that stops reading slows no one.</summary>
public sealed class LiveSharingTests(LiveServer server, ITestOutputHelper output) : IClassFixture<LiveServer>
{
    private const string Text = "First, the bridge was built in 1950. Second, the river floods every spring.";

    /// <summary>
    /// A long rationale: every view and event of a stance carries it, so a client that does not read fills its buffers quickly.
    /// </summary>
    private static readonly string LongRationale = string.Concat(Enumerable.Repeat("the record says otherwise; ", 148));

    [Fact]
    public async Task Two_hundred_watchers_of_an_article_cost_the_database_no_more_transactions_per_change_than_one_watcher()
    {
        var article = await server.ImportAsync(Text);
        var analysts = new List<CallOptions>();
        for (var i = 0; i < 3; i++) analysts.Add((await server.NewAnalystAsync("analyst", Role.Analyst)).Options);
        var claim = await OpenAsync(article, analysts[0]);
        await SettledStatistics.DisableAutovacuumAsync(server.ConnectionString);
        var changed = new Signal();
        await using var watchers = new Followers();
        watchers.Add(await WatchAsync(server.Channel, article, analysts[0], changed));

        var one = await TransactionsOfChangesAsync(claim, analysts, watchers, changed);

        using var second = GrpcChannel.ForAddress(server.Address);
        for (var i = 1; i < 200; i++)
        {
            watchers.Add(await WatchAsync(i % 2 == 0 ? server.Channel : second, article, analysts[i % 3], changed));
        }
        var many = await TransactionsOfChangesAsync(claim, analysts, watchers, changed);

        output.WriteLine($"{Changes} changes: {one} transactions with 1 watcher, {many} with 200 watchers");
        Assert.True(one > 0, "the changes cost no transaction at all: the measurement is broken");
        // The same changes with 199 more watchers: at most one transaction more per change in total (the commands' own count
        // varies that much between windows), where a cost per watcher would add 199 or more per change.
        Assert.True(many <= one + Changes, $"{Changes} changes cost {one} transactions with 1 watcher and {many} with 200");
    }

    [Fact]
    public async Task A_watcher_that_stops_reading_is_cut_off_with_resource_exhausted_while_another_keeps_receiving_the_changes()
    {
        var article = await server.ImportAsync(Text);
        var analysts = new List<CallOptions>();
        for (var i = 0; i < 3; i++) analysts.Add((await server.NewAnalystAsync("analyst", Role.Analyst)).Options);
        var claim = await OpenAsync(article, analysts[0]);
        using var slowChannel = GrpcChannel.ForAddress(server.Address);
        using var stopSlow = new CancellationTokenSource();
        using var slow = slowChannel.Consensus().WatchArticle(
            new WatchArticleRequest { ArticleId = article }, Streaming(analysts[1], stopSlow.Token));
        var before = await ReadUntilAsync(
            slow.ResponseStream, seen => seen.Any(m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition));
        var changed = new Signal();
        await using var fast = await WatchAsync(server.Channel, article, analysts[2], changed);

        // The slow client reads nothing more. Changes until the server says it cut the watcher off (its transport buffers and
        // WatchBuffer updates are full by then); each is seen by the fast watcher.
        var positions = new List<long>();
        var cutOff = $"fell more than {LiveServer.WatchBuffer} updates behind and was cut off";
        for (var i = 0; i < 400 && !server.Process.Stdout.Contains(cutOff, StringComparison.Ordinal); i++)
            positions.Add((long)(await StanceAsync(claim, i % 2 == 0 ? Stance.Supports : Stance.Refutes, analysts[i % 3])).Position);

        Assert.Contains(cutOff, server.Process.Stdout);
        Assert.True(await changed.WaitUntilAsync(() => fast.LastViewPosition >= positions[^1], TimeSpan.FromSeconds(30)),
            $"the fast watcher saw up to {fast.LastViewPosition}, not {positions[^1]}");
        // Each update is the view as stored when the feed read it, so one may already show a later change: never an older one.
        var seen = fast.ViewPositions;
        Assert.Equal(seen.Order(), seen);

        // The slow client reads again: what was already on its way, in order, then the stream ends with a status saying what to do.
        var after = new List<long>();
        var ended = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await slow.ResponseStream.MoveNext(stopSlow.Token)) after.Add((long)slow.ResponseStream.Current.View.LastPosition);
        });
        Assert.Equal(StatusCode.ResourceExhausted, ended.StatusCode);
        Assert.Contains("call WatchArticle again", ended.Status.Detail);
        Assert.Equal(after.Order(), after);
        Assert.True(after.Count < positions.Count, "every change reached the slow watcher: it was never behind");
        Assert.Single(before, m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.View);
    }

    [Fact]
    public async Task A_subscriber_that_stops_reading_falls_back_to_reading_the_log_and_then_receives_every_event_in_order()
    {
        var article = await server.ImportAsync(Text);
        var analysts = new List<CallOptions>();
        for (var i = 0; i < 3; i++) analysts.Add((await server.NewAnalystAsync("analyst", Role.Analyst)).Options);
        var claim = await OpenAsync(article, analysts[0]);
        using var slowChannel = GrpcChannel.ForAddress(server.Address);
        using var stop = new CancellationTokenSource();
        using var slow = slowChannel.History().Subscribe(new SubscribeRequest(), Streaming(analysts[1], stop.Token));
        var caughtUp = (await ReadUntilAsync(
            slow.ResponseStream, seen => seen.Any(m => m.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition)))[^1];
        using var fastCall = server.Channel.History().Subscribe(new SubscribeRequest { AfterPosition = caughtUp.CaughtUpPosition },
            Streaming(analysts[2], stop.Token));
        var fastPositions = new List<long>();
        var received = new Signal();
        var fastReading = Task.Run(async () =>
        {
            while (await fastCall.ResponseStream.MoveNext(stop.Token))
            {
                if (fastCall.ResponseStream.Current.Event is { } e) lock (fastPositions) fastPositions.Add((long)e.Position);
                received.Pulse();
            }
        });

        // Far more live batches than the hub buffers for a subscriber (4), each carrying a long rationale.
        long last = 0;
        for (var i = 0; i < 150; i++)
            last = (long)(await StanceAsync(claim, i % 2 == 0 ? Stance.Supports : Stance.Refutes, analysts[i % 3])).Position;

        Assert.True(await received.WaitUntilAsync(
            () =>
            {
                lock (fastPositions)
                {
                    return fastPositions.Count > 0 && fastPositions[^1] >= last;
                }
            },
            TimeSpan.FromSeconds(30)), "the reading subscriber did not receive the last event");
        var slowPositions = new List<long>();
        await foreach (var m in slow.ResponseStream.ReadAllAsync(stop.Token))
        {
            if (m.Event is not { } e) continue;
            slowPositions.Add((long)e.Position);
            if (e.Position >= (ulong)last) break;
        }
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => fastReading);
        lock (fastPositions) Assert.Equal(fastPositions.Where(p => p <= last), slowPositions);
    }

    [Fact]
    public async Task Watchers_receive_every_change_once_when_the_feeds_read_loses_its_connection_and_the_database_comes_back()
    {
        var article = await server.ImportAsync(Text);
        var (_, who) = await server.NewAnalystAsync("analyst", Role.Analyst);
        var claim = await OpenAsync(article, who);
        var changed = new Signal();
        using var second = GrpcChannel.ForAddress(server.Address);
        await using var watchers = new Followers();
        watchers.Add(await WatchAsync(server.Channel, article, who, changed));
        watchers.Add(await WatchAsync(second, article, who, changed));

        // An admin holds the blindness table: the feed's read of a reply on a claim (the reply, then its claim's blindness)
        // waits there, while the command that posts the reply writes no row of it and commits.
        await using var admin = new NpgsqlConnection(Database.ToString());
        await admin.OpenAsync();
        var table = await ScalarTextAsync(admin,
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE tablename = 'mt_doc_blindclaimdocument'");
        var holding = await admin.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand($"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", admin, holding))
            await take.ExecuteNonQueryAsync();
        await ReplyAsync(claim, "first reply", who);
        // The server's sessions are looked at from another connection: in a transaction the activity view is a snapshot.
        await using var looking = new NpgsqlConnection(Database.ToString());
        await looking.OpenAsync();
        var waiting = await FeedWaitingAsync(looking, except: []);

        // Every session of the server is terminated, the feed's among them, each time a read waits again (Marten runs a read
        // that lost its connection again itself, a few times), until the feed's own read has failed and the feed reads again.
        for (var round = 1; ; round++)
        {
            await using (var terminate = new NpgsqlCommand(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                + $"AND application_name = '{AnnotateDatabase.ApplicationName}'", looking))
            {
                Assert.True(Convert.ToInt64(await terminate.ExecuteScalarAsync()) > 0);
            }
            waiting = await FeedWaitingAsync(looking, except: waiting);
            if (server.Process.Stdout.Contains(FeedReadAgain, StringComparison.Ordinal)) break;
            Assert.True(round < 20, "the feed's read never failed");
        }
        await holding.RollbackAsync();

        Assert.True(await changed.WaitUntilAsync(() => watchers.All(w => w.ReplyBodies.Count >= 1 || w.Failure is not null),
            TimeSpan.FromSeconds(60)), "the watchers did not receive the first reply");
        await ReplyAsync(claim, "second reply", who);
        Assert.True(await changed.WaitUntilAsync(() => watchers.All(w => w.ReplyBodies.Count >= 2 || w.Failure is not null),
            TimeSpan.FromSeconds(60)), "the watchers did not receive the second reply");
        foreach (var watcher in watchers)
        {
            Assert.Null(watcher.Failure);
            Assert.Equal(new[] { "first reply", "second reply" }, watcher.ReplyBodies);
        }
    }

    private const string FeedReadAgain = "Article watch feed could not read past position";

    /// <summary>
    /// The pids of the server's sessions waiting for a lock, once there is one not in <paramref name="except"/>. PostgreSQL
    /// signals no other session's lock wait, so its activity view is polled.
    /// </summary>
    private static async Task<long[]> FeedWaitingAsync(NpgsqlConnection looking, long[] except)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var pids = new List<long>();
            await using (var command = new NpgsqlCommand(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
                + $"AND application_name = '{AnnotateDatabase.ApplicationName}'", looking))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync()) pids.Add(reader.GetInt32(0));
            }
            if (pids.Except(except).Any()) return [.. pids];
            Assert.True(DateTime.UtcNow < deadline, "no read of the server waits for the held table");
            // A backend starting to wait on a lock signals no other session: its activity view is polled.
            await Task.Delay(50);
        }
    }

    private static async Task<string> ScalarTextAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Posts a reply on a claim; one that meets a connection the test terminated is sent again with its request id.</summary>
    private async Task ReplyAsync(string claim, string body, CallOptions who)
    {
        var request = new PostReplyRequest { RequestId = Rid(), Target = new ReplyTarget { ClaimId = claim }, Body = body };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await server.Channel.Discussion().PostReplyAsync(request, who);
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && attempt < 5)
            {
            }
        }
    }

    private async Task<string> OpenAsync(string article, CallOptions who) =>
        (await server.Channel.Claims().OpenClaimAsync(
            new OpenClaimRequest { RequestId = Rid(), ArticleId = article, Selector = Quote("the bridge was built in 1950") },
            who)).ClaimId;

    private async Task<CommandResult> StanceAsync(string claim, Stance stance, CallOptions who) =>
        await server.Channel.Claims().TakeStanceAsync(
            new TakeStanceRequest { RequestId = Rid(), ClaimId = claim, Stance = stance, Rationale = LongRationale }, who);

    /// <summary>
    /// The transactions of the test database (committed and rolled back) spent by ten changes of a claim that every watcher
    /// receives, measured from settled statistics before and after.
    /// </summary>
    private const int Changes = 10;

    /// <summary>
    /// The transactions of the test database (committed and rolled back) spent by <see cref="Changes"/> changes of a claim that
    /// every watcher receives, from settled statistics before and after; the lowest of three windows, since what a command costs
    /// varies by some transactions from one window to the next whatever watches it.
    /// </summary>
    private async Task<long> TransactionsOfChangesAsync(string claim, List<CallOptions> analysts, Followers watchers, Signal changed)
    {
        // A first change outside the windows: whatever a first time costs (a cache filled, a plan prepared) is not counted.
        await ChangeAndWaitAsync(claim, analysts[0], Stance.Refutes, watchers, changed);
        var lowest = long.MaxValue;
        for (var window = 0; window < 3; window++)
        {
            var before = await SettledStatistics.TransactionsAsync(server.ConnectionString);
            for (var i = 0; i < Changes; i++)
                await ChangeAndWaitAsync(claim, analysts[i % 3], i % 2 == 0 ? Stance.Supports : Stance.NeedsContext, watchers, changed);
            var spent = await SettledStatistics.TransactionsAsync(server.ConnectionString) - before;
            output.WriteLine($"{watchers.Count} watcher(s): {spent} transactions");
            lowest = Math.Min(lowest, spent);
        }
        return lowest;
    }

    private async Task ChangeAndWaitAsync(string claim, CallOptions who, Stance stance, Followers watchers, Signal changed)
    {
        var position = (long)(await StanceAsync(claim, stance, who)).Position;
        Assert.True(await changed.WaitUntilAsync(() => watchers.All(w => w.LastViewPosition >= position), TimeSpan.FromSeconds(60)),
            $"not every watcher received position {position}: {string.Join(", ", watchers.Select(w => w.Failure?.Message).Distinct())}");
    }

    private NpgsqlConnectionStringBuilder Database => new(server.ConnectionString) { Pooling = false };

    private static async Task<Follower> WatchAsync(GrpcChannel channel, string article, CallOptions who, Signal changed)
    {
        var follower = new Follower(
            channel.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = article }, Streaming(who, default)),
            changed);
        Assert.True(await changed.WaitUntilAsync(() => follower.CaughtUp || follower.Failure is not null, TimeSpan.FromSeconds(60)),
            "a watcher did not catch up");
        Assert.Null(follower.Failure);
        return follower;
    }

    /// <summary>A WatchArticle stream read on a task of its own, keeping the positions of the views it receives.</summary>
    private sealed class Follower : IAsyncDisposable
    {
        private readonly AsyncServerStreamingCall<WatchArticleResponse> _call;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<long> _views = [];
        private readonly List<string> _replies = [];
        private readonly Task _reading;
        private long _last;

        public Follower(AsyncServerStreamingCall<WatchArticleResponse> call, Signal changed)
        {
            _call = call;
            _reading = Task.Run(async () =>
            {
                try
                {
                    while (await call.ResponseStream.MoveNext(_stop.Token))
                    {
                        var m = call.ResponseStream.Current;
                        if (m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition)
                        {
                            CaughtUp = true;
                        }
                        else if (m.View is { } view && CaughtUp)
                        {
                            lock (_views) _views.Add((long)view.LastPosition);
                            Volatile.Write(ref _last, Math.Max(_last, (long)view.LastPosition));
                        }
                        else if (m.Reply is { } reply && CaughtUp)
                        {
                            lock (_replies) _replies.Add(reply.Body);
                        }
                        changed.Pulse();
                    }
                }
                catch (Exception e)
                {
                    if (_stop.IsCancellationRequested) return;
                    Failure = e;
                    changed.Pulse();
                }
            });
        }

        public volatile bool CaughtUp;
        public Exception? Failure { get; private set; }
        public long LastViewPosition => Volatile.Read(ref _last);
        public List<long> ViewPositions { get { lock (_views) return [.. _views]; } }
        /// <summary>The texts of the replies received after the catch-up, in the order received.</summary>
        public List<string> ReplyBodies { get { lock (_replies) return [.. _replies]; } }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reading; // ends without throwing: a failure after the stop is the stop
            _call.Dispose();
            _stop.Dispose();
        }
    }

    private sealed class Followers : List<Follower>, IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var f in this) await f.DisposeAsync();
        }
    }
}
