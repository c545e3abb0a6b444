using System.Globalization;

namespace Annotate.Benchmarks.EventStore;

/// <summary>The command line (see bench/README.md); every duration in seconds.</summary>
internal sealed record BenchOptions
{
    public static readonly string[] AllScenarios = ["writer", "marten", "pgbench", "rebuild", "views"];

    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);
    public int Rounds { get; init; } = 3;
    public int Appenders { get; init; } = 64;
    public int PgbenchClients { get; init; } = 64;
    public long RebuildEvents { get; init; } = 1_000_000;
    public int EventsPerStream { get; init; } = 20;
    // Pages of 5,000 events instead of Marten's 500: fewer round trips and commits per rebuild (20,529 against 37,113
    // events/s over 200,000 events in one pair of runs here; noisy).
    public RebuildTuning Rebuild { get; init; } = new(5_000, 0, false);
    public List<ServerBuild> Servers { get; init; } = [];
    public int ViewRounds { get; init; } = 2;
    public HashSet<string> Scenarios { get; init; } = [.. AllScenarios];
    public string? Postgres { get; init; } = Environment.GetEnvironmentVariable("ANNOTATE_BENCH_PG");
    public string? Markdown { get; init; }

    public const string Usage = """
        dotnet run -c Release --project bench/Annotate.Benchmarks.EventStore -- [options]
          --seconds <s>            measured window of each append round (default 5)
          --warmup <s>             unmeasured load before each window (default 1)
          --rounds <n>             rounds of writer, naive Marten and pgbench, in rotating order (default 3)
          --appenders <n>          concurrent appenders of the writer and of naive Marten (default 64)
          --pgbench-clients <n>    pgbench -c (default 64)
          --events <n>             events bulk-loaded and replayed by the projection rebuild (default 1000000)
          --events-per-stream <n>  events of each claim stream in the rebuild (default 20)
          --rebuild-batch-size <n> the projection's AsyncOptions.BatchSize, events fetched at once (default 5000; Marten's is 500)
          --rebuild-flush <n>      the projection's AsyncOptions.RebuildFlushThreshold (default 0: Marten's, off)
          --optimized-rebuilds     Events.UseOptimizedProjectionRebuilds = true
          --server <name>=<dll>    a build of Annotate.Server whose `rebuild-views` the views scenario runs; repeat to compare
                                   builds (default: this tree's src/Annotate.Server/bin/Release/net10.0/Annotate.Server.dll)
          --view-rounds <n>        rounds of the views scenario, builds in rotating order (default 2)
          --scenarios <list>       any of writer,marten,pgbench,rebuild,views (default all)
          --pg <connection string> a PostgreSQL role that may create databases (default ANNOTATE_BENCH_PG,
                                   else a throwaway cluster started here)
          --markdown <file>        also write the report there
        """;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            TimeSpan Seconds() => TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--seconds" => o with { Window = Seconds() },
                "--warmup" => o with { Warmup = Seconds() },
                "--rounds" => o with { Rounds = Int() },
                "--appenders" => o with { Appenders = Int() },
                "--pgbench-clients" => o with { PgbenchClients = Int() },
                "--events" => o with { RebuildEvents = long.Parse(Next(), CultureInfo.InvariantCulture) },
                "--events-per-stream" => o with { EventsPerStream = Int() },
                "--scenarios" => o with { Scenarios = Next().Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet() },
                "--rebuild-batch-size" => o with { Rebuild = o.Rebuild with { BatchSize = Int() } },
                "--rebuild-flush" => o with { Rebuild = o.Rebuild with { FlushThreshold = Int() } },
                "--optimized-rebuilds" => o with { Rebuild = o.Rebuild with { OptimizedRebuilds = true } },
                "--server" => o with { Servers = [.. o.Servers, Build(Next())] },
                "--view-rounds" => o with { ViewRounds = Int() },
                "--pg" => o with { Postgres = Next() },
                "--markdown" => o with { Markdown = Path.GetFullPath(Next()) },
                _ => throw new ArgumentException($"unknown argument {args[i]}"),
            };
        }
        var unknown = o.Scenarios.Except(AllScenarios).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"unknown scenario {string.Join(",", unknown)}");
        if (o.Window <= TimeSpan.Zero || o.Warmup < TimeSpan.Zero || o.Rounds < 1 || o.Appenders < 1 || o.PgbenchClients < 1
            || o.RebuildEvents < 1 || o.EventsPerStream < 1 || o.ViewRounds < 1)
        {
            throw new ArgumentException("durations, rounds, appenders, clients and event counts must be positive");
        }
        return o;
    }

    private static ServerBuild Build(string value) =>
        value.Split('=', 2) is [{ Length: > 0 } name, { Length: > 0 } dll]
            ? new ServerBuild(name, Path.GetFullPath(dll))
            : throw new ArgumentException($"--server takes <name>=<dll>, not {value}");

    /// <summary>This tree's Release build of the server, found from the benchmark's own output folder.</summary>
    public static ServerBuild ThisTree()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Annotate.sln"))) dir = dir.Parent;
        if (dir is null) throw new ArgumentException("no Annotate.sln above the benchmark: give --server <name>=<dll>");
        return new ServerBuild("this tree", Path.Combine(dir.FullName, "src/Annotate.Server/bin/Release/net10.0/Annotate.Server.dll"));
    }
}
