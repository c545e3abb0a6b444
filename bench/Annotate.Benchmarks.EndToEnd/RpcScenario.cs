using System.Diagnostics;
using Annotate.Contracts.V1;
using Grpc.Core;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>What one build did for one RPC at one number of callers.</summary>
internal sealed record RpcResult(string Build, string Rpc, int Callers, Window Window, int Calls, double P50Ms, double P99Ms, long Errors, string? FirstError)
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

    public static async Task<List<RpcResult>> RunAsync(BenchContext ctx, ServerBuild build)
    {
        var database = await ctx.Postgres.CreateDatabaseAsync("rpc");
        try
        {
            await using var server = await ServerUnderTest.StartAsync(build, database);
            using var api = new Api(server.Address);
            await Newsroom.SetUpAsync(api, server.AdminToken, ctx.Options.SeedDirectory, analysts: 1, readers: 0);
            var auditor = await Newsroom.RegisterAsync(api, Api.Bearer(server.AdminToken), "auditor", Role.Auditor);

            var calls = new (string Name, Func<Task> Call)[]
            {
                ("WhoAmI", async () =>
                {
                    var me = await api.Admin.WhoAmIAsync(new WhoAmIRequest(), Api.As(auditor.Auth));
                    if (me.AnalystId != auditor.Id) throw new InvalidOperationException($"WhoAmI answered {me.AnalystId}");
                }),
                ($"Replay {ReplayEvents} events", async () =>
                {
                    using var call = api.History.Replay(new ReplayRequest { FromPosition = 1, ToPosition = ReplayEvents }, Api.As(auditor.Auth));
                    var n = 0;
                    while (await call.ResponseStream.MoveNext(CancellationToken.None)) n++;
                    if (n != ReplayEvents) throw new InvalidOperationException($"Replay sent {n} events, not {ReplayEvents}");
                }),
            };
            foreach (var (_, call) in calls) await call(); // a broken server is never timed

            // Tiered JIT needs seconds of load to settle: a first unmeasured round at the highest level.
            var top = ctx.Options.RpcLevels.Max();
            foreach (var (_, call) in calls) await LoopAsync(server, ctx, database, top, call, ctx.Options.Warmup, TimeSpan.Zero);

            var results = new List<RpcResult>();
            foreach (var level in ctx.Options.RpcLevels)
            {
                foreach (var (name, call) in calls)
                {
                    var (window, latencies, errors, first) = await LoopAsync(server, ctx, database, level, call, ctx.Options.RpcWarmup, ctx.Options.RpcDuration);
                    results.Add(new RpcResult(build.Label, name, level, window!, latencies.Length,
                        Percentile.Ms(latencies, 0.50), Percentile.Ms(latencies, 0.99), errors, first));
                }
            }
            return results;
        }
        finally
        {
            await ctx.Postgres.DropDatabaseAsync(database);
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
        if (window is null) return (null, [], 0, first);
        var latencies = Percentile.Sorted(samples.SelectMany(s => s).Where(s => window.Contains(s.Answered)).Select(s => s.Answered - s.Sent));
        return (window, latencies, errors.SelectMany(e => e).Count(window.Contains), first);
    }
}
