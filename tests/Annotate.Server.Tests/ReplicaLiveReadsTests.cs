using Annotate.Contracts.V1;

namespace Annotate.Server.Tests;

/// <summary>
/// Live streams of a server that reads a real streaming replica (<c>ConnectionStrings:AnnotateReadOnly</c>), fed by commands
/// to a second server on the same primary: every event reaches this server as a NOTIFY wake-up, so its hub reads each one
/// from the table, the replica first. A Subscribe stream and a WatchArticle stream get every change exactly once and in
/// order while the replica replays, pauses, resumes and stops.
/// </summary>
public sealed class ReplicaLiveReadsTests : IAsyncLifetime
{
    private const string Article = "russia-involvement-kazakhstan-crisis";
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    private StreamingReplica _pair = null!;
    private ReplicaReadingServer _reader = null!;
    private ServerProcess _writer = null!;
    private GrpcChannel _reads = null!;
    private GrpcChannel _commands = null!;
    private CallOptions _admin;

    public async Task InitializeAsync()
    {
        _pair = await StreamingReplica.StartAsync();
        _reader = await ReplicaReadingServer.StartAsync(_pair);
        (_reads, _admin) = (_reader.Channel, _reader.Admin);
        var writer = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        _writer = ServerProcess.Start(["--urls", writer, $"--ConnectionStrings:Annotate={_pair.PrimaryConnectionString}"]);
        await _writer.WaitForOutputAsync("Annotate listening on");
        _commands = GrpcChannel.ForAddress(writer);
    }

    public async Task DisposeAsync()
    {
        _commands?.Dispose();
        if (_writer is not null) await _writer.DisposeAsync();
        if (_reader is not null) await _reader.DisposeAsync();
        if (_pair is not null) await _pair.DisposeAsync();
    }

    private Task<double> ReadsAsync(string source) => _reader.ReadsAsync(source);

    /// <summary>What a stream has received, in order, and a pulse per message.</summary>
    private sealed class Received<T>
    {
        public readonly List<T> Items = [];
        public readonly Signal Changed = new();
        public long CaughtUp = -1;

        public T[] Snapshot()
        {
            lock (Items) return [.. Items];
        }

        public Task<bool> UntilAsync(Func<T[], bool> condition) => Changed.WaitUntilAsync(() => condition(Snapshot()), Patience);
    }

    private static Task Follow<TResponse, T>(IAsyncStreamReader<TResponse> stream, Received<T> into, Func<TResponse, T?> item,
        Func<TResponse, long?> caughtUp) where T : struct =>
        Task.Run(async () =>
        {
            await foreach (var message in stream.ReadAllAsync())
            {
                if (caughtUp(message) is { } position) Volatile.Write(ref into.CaughtUp, position);
                else if (item(message) is { } got) lock (into.Items) into.Items.Add(got);
                into.Changed.Pulse();
            }
        });

    /// <summary>Opens a claim over a span no other claim covers (10 code points at <paramref name="n"/> x 12), on the writer.</summary>
    private async Task<(string ClaimId, long Position)> OpenClaimAsync(int n)
    {
        var start = (uint)(n * 12);
        var opened = await _commands.Claims().OpenClaimAsync(new OpenClaimRequest
        {
            RequestId = Guid.NewGuid().ToString(),
            ArticleId = Article,
            Selector = new Selector { Position = new TextPosition { Start = start, End = start + 10 } },
        }, _admin);
        return (opened.ClaimId, (long)opened.Result.Position);
    }

    [Fact]
    public async Task Subscribe_and_WatchArticle_get_every_change_once_in_order_while_the_replica_lags_resumes_and_stops()
    {
        using var stop = new CancellationTokenSource();
        var streaming = Rpc.Streaming(_admin, stop.Token);
        var events = new Received<long>();
        using var subscribe = _reads.History().Subscribe(new SubscribeRequest(), streaming);
        var subscribed = Follow(subscribe.ResponseStream, events,
            m => m.Event is { } e ? (long)e.Position : null, m => m.Event is null ? (long)m.CaughtUpPosition : null);
        var views = new Received<(string ClaimId, long Position)>();
        using var watch = _reads.Consensus().WatchArticle(new WatchArticleRequest { ArticleId = Article }, streaming);
        var watched = Follow(watch.ResponseStream, views,
            m => m.View is { } v ? (v.ClaimId, (long)v.LastPosition) : null,
            m => m.UpdateCase == WatchArticleResponse.UpdateOneofCase.CaughtUpPosition ? (long)m.CaughtUpPosition : null);
        Assert.True(await events.Changed.WaitUntilAsync(() => Volatile.Read(ref events.CaughtUp) >= 0, Patience));
        Assert.True(await views.Changed.WaitUntilAsync(() => Volatile.Read(ref views.CaughtUp) >= 0, Patience));
        var initialViews = views.Snapshot().Length;
        var opened = new List<(string ClaimId, long Position)>();

        async Task OpenAndSeeAsync(int count)
        {
            for (var i = 0; i < count; i++) opened.Add(await OpenClaimAsync(opened.Count + 1));
            var last = opened[^1];
            Assert.True(
                await events.UntilAsync(got => got.Length > 0 && got[^1] >= last.Position), "Subscribe did not deliver the commands");
            Assert.True(await views.UntilAsync(got => got.Any(v => v.ClaimId == last.ClaimId)), "WatchArticle did not deliver the claims");
        }

        // Replaying: the reads after each wake-up come from the replica.
        await _pair.CaughtUpAsync();
        var replicaBefore = await ReadsAsync("replica");
        await OpenAndSeeAsync(5);
        Assert.True(await ReadsAsync("replica") > replicaBefore, "the live reads did not go to the replica");

        // Paused: the replica's head stays behind what every wake-up announces; the pages come from the primary.
        await _pair.PauseReplayAsync();
        var primaryBefore = await ReadsAsync("primary");
        await OpenAndSeeAsync(5);
        Assert.True(await ReadsAsync("primary") > primaryBefore, "a paused replica's reads did not fall back to the primary");

        // Resumed, then stopped.
        await _pair.ResumeReplayAsync();
        await _pair.CaughtUpAsync();
        await OpenAndSeeAsync(5);
        await _pair.StopReplicaAsync();
        await OpenAndSeeAsync(5);

        // The log itself, read on the writer (the primary): the stream got exactly its positions, once each, in order.
        using var replay = _commands.History().Replay(new ReplayRequest { FromPosition = 1 }, _admin);
        var log = (await replay.ResponseStream.ReadAllAsync().ToListAsync()).Select(e => (long)e.Position).ToList();
        Assert.True(await events.UntilAsync(got => got.Length > 0 && got[^1] >= log[^1]));
        Assert.Equal(log, events.Snapshot().Where(p => p <= log[^1]));
        // Each claim was changed once (opened): its view came once, in the order of the commands.
        Assert.Equal(opened, views.Snapshot().Skip(initialViews));
        await stop.CancelAsync();
        await Task.WhenAll(subscribed, watched).ContinueWith(_ => { }, TaskScheduler.Default);
    }
}
