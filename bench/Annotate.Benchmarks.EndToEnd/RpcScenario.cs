using System.Diagnostics;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>What one build did for one RPC at one number of callers.</summary>
internal sealed record RpcResult(
    string Build,
    string Rpc,
    int Callers,
    Window Window,
    int Calls,
    double P50Ms,
    double P99Ms,
    long Errors,
    string? FirstError)
{
    public double CallsPerSecond => Calls / Window.Elapsed.TotalSeconds;
    public double ServerCpuMsPerCall => Window.ServerCpu.TotalMilliseconds / Calls;
    public double TransactionsPerCall => (double)Window.Db.Transactions / Calls;
}

/// <summary>
/// Scenario (c), the transport through the real server: Admin.WhoAmI (the cheapest call that is authenticated)
/// and History.Replay of positions 1-10 (a short server stream, read to its end), each in a closed loop of N
/// callers sharing one channel, as one client process with many concurrent requests does.
/// </summary>
internal static class RpcScenario
{
    public const int ReplayEvents = 10;

    /// <summary>
    /// Every build's server runs through the whole scenario (idle while another is measured), so the rows alternate
    /// between builds (WhoAmI x1 for each build, then Replay x1 for each build, ...): a change in the machine's load
    /// falls on every build alike.
    /// </summary>
    public static async Task<List<RpcResult>> RunAsync(BenchContext ctx, IReadOnlyList<ServerBuild> builds, Action<RpcResult> progress)
    {
        var targets = new List<Target>();
        try
        {
            foreach (var build in builds) targets.Add(await Target.StartAsync(ctx, build));
            // Tiered JIT needs seconds of load to settle: a first unmeasured round at the highest level.
            var top = ctx.Options.RpcLevels.Max();
            foreach (var target in targets)
            {
                foreach (var (_, call) in target.Calls)
                    await LoopAsync(target.Server, ctx, target.Database, top, call, ctx.Options.Warmup, TimeSpan.Zero);
            }

            var results = new List<RpcResult>();
            foreach (var level in ctx.Options.RpcLevels)
            {
                for (var rpc = 0; rpc < targets[0].Calls.Length; rpc++)
                {
                    foreach (var target in targets)
                    {
                        var (name, call) = target.Calls[rpc];
                        var (window, latencies, errors, first) = await LoopAsync(
                            target.Server,
                            ctx,
                            target.Database,
                            level,
                            call,
                            ctx.Options.RpcWarmup,
                            ctx.Options.RpcDuration);
                        var result = new RpcResult(
                            target.Build.Label,
                            name,
                            level,
                            window!,
                            latencies.Length,
                            Percentile.Ms(latencies, 0.50),
                            Percentile.Ms(latencies, 0.99),
                            errors,
                            first);
                        results.Add(result);
                        progress(result);
                    }
                }
            }
            return results;
        }
        finally
        {
            foreach (var target in targets) await target.DisposeAsync();
        }
    }

    /// <summary>One build's server on a database of its own, set up, with the calls to time.</summary>
    private sealed class Target : IAsyncDisposable
    {
        private readonly BenchContext _ctx;
        private Api? _api;

        private Target(BenchContext ctx, ServerBuild build, string database)
        {
            _ctx = ctx;
            Build = build;
            Database = database;
        }

        public ServerBuild Build { get; }
        public string Database { get; }
        public ServerUnderTest Server { get; private set; } = null!;
        public (string Name, Func<Task> Call)[] Calls { get; private set; } = [];

        public static async Task<Target> StartAsync(BenchContext ctx, ServerBuild build)
        {
            var target = new Target(ctx, build, await ctx.Postgres.CreateDatabaseAsync("rpc"));
            try
            {
                target.Server = await ServerUnderTest.StartAsync(build, target.Database);
                var api = target._api = new Api(target.Server.Address);
                await Newsroom.SetUpAsync(api, target.Server.AdminToken, ctx.Options.SeedDirectory, analysts: 1, readers: 0);
                var auditor = await Newsroom.RegisterAsync(api, Api.Bearer(target.Server.AdminToken), "auditor", Role.Auditor);
                target.Calls =
                [
                    ("WhoAmI", async () =>
                    {
                        var me = await api.Admin.WhoAmIAsync(new WhoAmIRequest(), Api.As(auditor.Auth));
                        if (me.AnalystId != auditor.Id) throw new InvalidOperationException($"WhoAmI answered {me.AnalystId}");
                    }),
                    ($"Replay {ReplayEvents} events", async () =>
                    {
                            using var call = api.History.Replay(
                                new ReplayRequest { FromPosition = 1, ToPosition = ReplayEvents },
                                Api.As(auditor.Auth));
                        var n = 0;
                        while (await call.ResponseStream.MoveNext(CancellationToken.None)) n++;
                        if (n != ReplayEvents) throw new InvalidOperationException($"Replay sent {n} events, not {ReplayEvents}");
                    }),
                ];
                foreach (var (_, call) in target.Calls) await call(); // a broken server is never timed
                return target;
            }
            catch
            {
                await target.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            _api?.Dispose();
            if (Server is not null) await Server.DisposeAsync();
            await _ctx.Postgres.DropDatabaseAsync(Database);
        }
    }

    private static async Task<(Window? Window, long[] Latencies, long Errors, string? FirstError)> LoopAsync(
        ServerUnderTest server, BenchContext ctx, string database, int callers, Func<Task> call, TimeSpan warmup, TimeSpan duration)
    {
        using var stop = new CancellationTokenSource();
        var samples = new List<(long Sent, long Answered)>[callers];
        var errors = new List<long>[callers];
        string? first = null;
        async Task CallerAsync(int i)
        {
            var mine = samples[i] = new List<(long, long)>(1 << 14);
            var failed = errors[i] = [];
            while (!stop.IsCancellationRequested)
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    await call();
                    mine.Add((sent, Stopwatch.GetTimestamp()));
                }
                catch (Exception e) when (e is RpcException or InvalidOperationException)
                {
                    failed.Add(Stopwatch.GetTimestamp());
                    Interlocked.CompareExchange(ref first, e.Message, null);
                }
            }
        }
        var tasks = Enumerable.Range(0, callers).Select(i => Task.Run(() => CallerAsync(i))).ToList();
        await Task.Delay(warmup);
        Window? window = duration > TimeSpan.Zero ? await Window.MeasureAsync(server, ctx.Postgres, database, duration) : null;
        await stop.CancelAsync();
        await Task.WhenAll(tasks);
        if (window is null)
            return (null, [], 0, first);
        var latencies = Percentile.Sorted(
            samples.SelectMany(s => s).Where(s => window.Contains(s.Answered)).Select(s => s.Answered - s.Sent));
        return (window, latencies, errors.SelectMany(e => e).Count(window.Contains), first);
    }
}
