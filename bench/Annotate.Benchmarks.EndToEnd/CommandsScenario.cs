using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>Latency of one kind of command in a window.</summary>
internal sealed record KindLatency(CommandKind Kind, int Count, double P50Ms, double P99Ms);

/// <summary>Append-to-delivery figures of one kind of stream (Subscribe or WatchArticle).</summary>
internal sealed record DeliveryFigures(
    int Streams,
    long Deliveries,
    double AckP50Ms,
    double AckP99Ms,
    double SendP50Ms,
    double SendP99Ms,
    long Expected,
    long Missed);

/// <summary>What one build did in one run of the desk scenario.</summary>
internal sealed record CommandsResult(
    string Build, int Analysts, int Subscribers, double? Rate, Window Window, int Commands, double P50Ms, double P99Ms,
    IReadOnlyList<KindLatency> Kinds, IReadOnlyList<CommandError> Errors, long PeakRssBytes,
    DeliveryFigures? Subscribe, DeliveryFigures? Watch, IReadOnlyList<string> StreamFailures)
{
    public double CommandsPerSecond => Commands / Window.Elapsed.TotalSeconds;
    public double ServerCpuMsPerCommand => Window.ServerCpu.TotalMilliseconds / Commands;
    public double ClientCpuMsPerCommand => Window.ClientCpu.TotalMilliseconds / Commands;
    public double TransactionsPerCommand => (double)Window.Db.Transactions / Commands;
    public double RowsReadPerCommand => (double)Window.Db.RowsRead / Commands;
}

/// <summary>
/// Scenarios (a) and (b): a fresh database and a fresh server process, the newsroom set up through the API,
/// optionally hundreds of live streams caught up first, then the analysts in their closed loops: a warm-up, the
/// measured window, and the analysts stopped after their command in flight.
/// </summary>
internal static class CommandsScenario
{
    private const int ReaderAnalysts = 50;
    private static readonly TimeSpan MaxWarmup = TimeSpan.FromSeconds(30);

    /// <summary>One run; <paramref name="rate"/>: the analysts' total commands/s in an open loop (null: closed loop).</summary>
    public static async Task<CommandsResult> RunAsync(BenchContext ctx, ServerBuild build, int analysts, int subscribers,
        double? rate = null)
    {
        var database = await ctx.Postgres.CreateDatabaseAsync("e2e");
        try
        {
            await using var server = await ServerUnderTest.StartAsync(build, database);
            using var setup = new Api(server.Address);
            var room = await Newsroom.SetUpAsync(
                setup,
                server.AdminToken,
                ctx.Options.SeedDirectory,
                analysts,
                subscribers > 0 ? ReaderAnalysts : 0);

            // Streams: half WatchArticle (spread over the articles), half Subscribe, on one channel that opens as many
            // HTTP/2 connections as their count needs.
            using var streamApi = new Api(server.Address);
            using var hangUp = new CancellationTokenSource();
            var streams = Enumerable
                .Range(0, subscribers)
                .Select(i => new Subscriber(
                    watch: i % 2 == 0,
                    room.Articles[i / 2 % room.Articles.Count].Id,
                    streamApi,
                    room.Readers[i % room.Readers.Count]))
                .ToList();
            var streamTasks = streams.Select(s => Task.Run(() => s.RunAsync(hangUp.Token))).ToList();
            await Task.WhenAll(streams.Select(s => s.CaughtUp)).WaitAsync(TimeSpan.FromSeconds(180));

            // One channel (one connection) per analyst, as each analyst runs a client of their own.
            var apis = room.Analysts.Select(_ => new Api(server.Address)).ToList();
            var desk = room.Analysts.Select((a, i) => new Analyst(i, room, apis[i], a)).ToList();
            using var stop = new CancellationTokenSource();
            // Paced: each analyst one command every analysts/rate seconds, their times spread evenly over that interval.
            TimeSpan? pace = rate is { } r ? TimeSpan.FromSeconds(analysts / r) : null;
            var deskTasks = desk
                .Select((a, i) => Task.Run(() => a.RunAsync(stop.Token, pace, pace is { } p ? p * i / analysts : TimeSpan.Zero)))
                .ToList();
            // Warm-up: the JIT of a fresh server process settles after some hundreds of commands, which one analyst
            // on a busy machine may take longer than the warm-up time to issue; bounded, so a run stays short.
            var warming = System.Diagnostics.Stopwatch.StartNew();
            await Task.Delay(ctx.Options.Warmup);
            while (desk.Sum(a => a.Answered) < ctx.Options.WarmupCommands && warming.Elapsed < MaxWarmup) await Task.Delay(100);
            var window = await Window.MeasureAsync(server, ctx.Postgres, database, ctx.Options.Duration);
            await stop.CancelAsync();
            await Task.WhenAll(deskTasks);

            var samples = desk.SelectMany(a => a.Samples).Where(s => window.Contains(s.Answered)).ToList();
            DeliveryFigures? subscribe = null, watch = null;
            if (subscribers > 0)
            {
                // Let the last commands of the window reach the streams before hanging up (bounded: a stalled stream counts as missed).
                var head = samples.Count == 0 ? 0UL : samples.Max(s => s.Position);
                var deadline = DateTime.UtcNow.AddSeconds(15);
                while (streams.Any(s => !s.Watches && s.Failure is null && s.LastPosition < head) && DateTime.UtcNow < deadline)
                    await Task.Delay(50);
            }
            var rss = server.PeakRssBytes();
            await hangUp.CancelAsync();
            await Task.WhenAll(streamTasks); // the streams' delivery lists are complete from here on
            if (subscribers > 0)
            {
                var byPosition = new Dictionary<ulong, CommandSample>();
                foreach (var s in samples.Where(s => s.Wrote)) byPosition.TryAdd(s.Position, s);
                subscribe = Deliveries(streams.Where(s => !s.Watches).ToList(), byPosition, countMissed: true);
                watch = Deliveries(streams.Where(s => s.Watches).ToList(), byPosition, countMissed: false);
            }
            foreach (var api in apis) api.Dispose();

            var errors = desk.SelectMany(a => a.Errors).Where(e => window.Contains(e.Answered)).ToList();
            var kinds = samples.GroupBy(s => s.Kind).OrderBy(g => g.Key).Select(g =>
            {
                var sorted = Percentile.Sorted(g.Select(s => s.Answered - s.Sent));
                return new KindLatency(g.Key, sorted.Length, Percentile.Ms(sorted, 0.50), Percentile.Ms(sorted, 0.99));
            }).ToList();
            var all = Percentile.Sorted(samples.Select(s => s.Answered - s.Sent));
            return new CommandsResult(
                build.Label,
                analysts,
                subscribers,
                rate,
                window,
                all.Length,
                Percentile.Ms(all, 0.50),
                Percentile.Ms(all, 0.99),
                kinds,
                errors,
                rss,
                subscribe,
                watch,
                streams.Where(s => s.Failure is not null).Select(s => s.Failure!).Distinct().ToList());
        }
        finally
        {
            await ctx.Postgres.DropDatabaseAsync(database);
        }
    }

    /// <summary>
    /// For every message a stream received that reflects the position a command of the window answered with: its
    /// delay after that answer (ack-to-delivery; negative when the stream saw the change before its writer got the
    /// answer) and after the command was sent (send-to-delivery).
    /// </summary>
    private static DeliveryFigures Deliveries(List<Subscriber> streams, Dictionary<ulong, CommandSample> byPosition, bool countMissed)
    {
        var afterAck = new List<long>();
        var afterSend = new List<long>();
        long missed = 0, expected = 0;
        foreach (var stream in streams)
        {
            var seen = new HashSet<ulong>();
            foreach (var (position, at) in stream.Deliveries)
            {
                if (!byPosition.TryGetValue(position, out var command) || !seen.Add(position)) continue;
                afterAck.Add(at - command.Answered);
                afterSend.Add(at - command.Sent);
            }
            if (!countMissed) continue;
            expected += byPosition.Count;
            missed += byPosition.Count - seen.Count;
        }
        var ack = Percentile.Sorted(afterAck);
        var send = Percentile.Sorted(afterSend);
        return new DeliveryFigures(
            streams.Count,
            ack.Length,
            Percentile.Ms(ack, 0.50),
            Percentile.Ms(ack, 0.99),
            Percentile.Ms(send, 0.50),
            Percentile.Ms(send, 0.99),
            expected,
            missed);
    }
}
