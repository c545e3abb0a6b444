using System.Globalization;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>The command line (see README.md in bench/); every duration in seconds.</summary>
internal sealed record BenchOptions
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(3);
    public int WarmupCommands { get; init; } = 300;
    public int[] Levels { get; init; } = [1, 8, 64];
    public int Subscribers { get; init; } = 500;
    public int SubscriberAnalysts { get; init; } = 64;
    /// <summary>Paces of scenario (b): null is the closed loop, a number the analysts' total commands/s (open loop).</summary>
    public double?[] SubscriberRates { get; init; } = [null];
    public int[] RpcLevels { get; init; } = [1, 16, 64];
    public TimeSpan RpcDuration { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan RpcWarmup { get; init; } = TimeSpan.FromSeconds(1);
    public int PgbenchClients { get; init; } = 64;
    public HashSet<string> Scenarios { get; init; } = ["commands", "subscribers", "rpc", "pgbench"];
    public List<ServerBuild> Servers { get; init; } = [];
    public string? Postgres { get; init; } = Environment.GetEnvironmentVariable("ANNOTATE_BENCH_PG");
    public string SeedDirectory { get; init; } = "";
    public string? Markdown { get; init; }

    public const string Usage = """
        dotnet run -c Release --project bench/Annotate.Benchmarks.EndToEnd -- [options]
          --server [label=]<Annotate.Server.dll>  a build to measure; repeat to compare builds in one run
                                                   (default: src/Annotate.Server, built with this project)
          --server-arg label=<arg> one more argument for that --server's process (repeat for more); {otlp} in it
                                   is the address of an OTLP/HTTP receiver this run serves, {metrics} a free
                                   loopback address (http://127.0.0.1:<port>) whose /metrics the run scrapes
                                   every second while that server runs
          --seconds <s>            measured window of each scenario (default 10)
          --warmup <s>             unmeasured load before each window (default 3)
          --warmup-commands <n>    and, in scenarios (a) and (b), until this many commands were answered (default 300; at most 30 s)
          --levels <n,n,..>        analysts of the commands scenario (default 1,8,64)
          --subscribers <n>        streams of the subscribers scenario, half WatchArticle, half Subscribe (default 500)
          --subscriber-analysts <n>  analysts writing while they watch (default 64)
          --subscriber-rate <r,..> pace of those analysts: commands/s of all of them together, sent on a fixed
                                   schedule (open loop), or "closed" for the closed loop; a list runs each
                                   (default closed)
          --rpc-levels <n,n,..>    callers of the rpc scenario (default 1,16,64)
          --rpc-seconds <s>        measured window per rpc row (default 5); --rpc-warmup <s> (default 1)
          --pgbench-clients <n>    pgbench -c (default 64)
          --scenarios <list>       any of commands,subscribers,rpc,pgbench (default all)
          --pg <connection string> a PostgreSQL role that may create databases (default ANNOTATE_BENCH_PG,
                                   else a throwaway cluster started here)
          --seeds <dir>            article texts (*.txt) to annotate (default seeds/)
          --markdown <file>        also write the report there
        """;

    public static BenchOptions Parse(string[] args, string repo)
    {
        var o = new BenchOptions { SeedDirectory = Path.Combine(repo, "seeds") };
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            TimeSpan Seconds() => TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture));
            int[] List() =>
                Next().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            int Int() => int.Parse(Next(), CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--server" => o with { Servers = [.. o.Servers, Build(Next(), o.Servers.Count)] },
                "--server-arg" => WithArgument(o, Next()),
                "--seconds" => o with { Duration = Seconds() },
                "--warmup" => o with { Warmup = Seconds() },
                "--warmup-commands" => o with { WarmupCommands = Int() },
                "--levels" => o with { Levels = List() },
                "--subscribers" => o with { Subscribers = Int() },
                "--subscriber-analysts" => o with { SubscriberAnalysts = Int() },
                "--subscriber-rate" => o with { SubscriberRates = Rates(Next()) },
                "--rpc-levels" => o with { RpcLevels = List() },
                "--rpc-seconds" => o with { RpcDuration = Seconds() },
                "--rpc-warmup" => o with { RpcWarmup = Seconds() },
                "--pgbench-clients" => o with { PgbenchClients = Int() },
                "--scenarios" => o with { Scenarios = Next().Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet() },
                "--pg" => o with { Postgres = Next() },
                "--seeds" => o with { SeedDirectory = Path.GetFullPath(Next()) },
                "--markdown" => o with { Markdown = Path.GetFullPath(Next()) },
                _ => throw new ArgumentException($"unknown argument {args[i]}"),
            };
        }
        var unknown = o.Scenarios.Except(["commands", "subscribers", "rpc", "pgbench"]).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"unknown scenario {string.Join(",", unknown)}");
        if (
            o.Duration <= TimeSpan.Zero
            || o.RpcDuration <= TimeSpan.Zero
            || o.Levels.Any(l => l < 1)
            || o.RpcLevels.Any(l => l < 1)
            || o.Subscribers < 0
            || o.SubscriberAnalysts < 1
            || o.SubscriberRates.Length == 0
            || o.SubscriberRates.Any(r => r is not null && !(r > 0)))
        {
            throw new ArgumentException("durations and rates must be > 0, levels and analysts >= 1");
        }

        if (o.Servers.Count == 0)
            o = o with { Servers = [new ServerBuild("current", DefaultServer(repo))] };
        if (o.Servers.Select(s => s.Label).Distinct().Count() != o.Servers.Count)
            throw new ArgumentException("every --server needs a label of its own (label=<dll>)");
        return o;
    }

    /// <summary>"closed" or a total rate in commands/s, comma-separated.</summary>
    private static double?[] Rates(string value) =>
        value
            .Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(r => r == "closed" ? (double?)null : double.Parse(r, CultureInfo.InvariantCulture))
            .ToArray();

    /// <summary>Adds an argument to the process of the --server named before it (label=argument).</summary>
    private static BenchOptions WithArgument(BenchOptions o, string value)
    {
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        var label = eq > 0 ? value[..eq] : throw new ArgumentException($"--server-arg needs label=<argument>, not {value}");
        var i = o.Servers.FindIndex(s => s.Label == label);
        if (i < 0) throw new ArgumentException($"--server-arg {label}=...: no --server {label}=<dll> before it");
        var servers = o.Servers.ToList();
        servers[i] = servers[i] with { Arguments = [.. servers[i].Arguments, value[(eq + 1)..]] };
        return o with { Servers = servers };
    }

    private static ServerBuild Build(string value, int index)
    {
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        var (label, path) = eq > 0 ? (value[..eq], value[(eq + 1)..]) : ($"build{index + 1}", value);
        var dll = Path.GetFullPath(path);
        return File.Exists(dll) ? new ServerBuild(label, dll) : throw new ArgumentException($"no server at {dll}");
    }

    // The server is built with this project (a project reference without assembly reference): the same configuration.
    private static string DefaultServer(string repo)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var dll = Path.Combine(repo, "src", "Annotate.Server", "bin", configuration, "net10.0", "Annotate.Server.dll");
        return File.Exists(dll)
            ? dll
            : throw new ArgumentException($"build src/Annotate.Server -c {configuration} first, or pass --server: {dll} is missing");
    }

    public static string FindRepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Annotate.sln"))) return dir.FullName;
            }
        }
        throw new InvalidOperationException("Annotate.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>What every scenario of one run shares.</summary>
internal sealed record BenchContext(BenchOptions Options, BenchPostgres Postgres);
