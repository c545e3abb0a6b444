using System.Diagnostics;
using System.Globalization;
using System.Text;
using Annotate.Benchmarks.Transport;
using Annotate.Grpc;
using Google.Protobuf;
using Interop.V1;

// Transport benchmark: unary calls/s and p50/p99 latency at several concurrency levels,
// with our client (Annotate.Grpc) against our interop server and against the grpc-js echo
// server, both started here as child processes on this machine, in one run.
//
//   dotnet run -c Release --project bench/Annotate.Benchmarks.Transport -- [options]
//     --duration <s>        measured seconds per level (default 5)
//     --warmup <s>          unmeasured seconds before each level (default 1)
//     --initial-warmup <s>  unmeasured seconds per server at the highest level before the first
//                           level, so tiered JIT (ours) and V8 (grpc-js) reach steady code (default 5)
//     --levels <n,n,..>     concurrent callers (default 1,16,64)
//     --payload <bytes>     request payload size, echoed back (default 0)
//     --servers <list>      ours,grpc-js (default both); an entry name=<dll> adds another build of
//                           the interop server under that name (A/B runs of a transport change)
//     --server-dll <path>   Annotate.Grpc.InteropServer.dll (default: built next to this project)
//     --node-server <path>  echo-server.js (default: tests/interop/node/echo-server.js)
//     --rounds <n>          repeat the sweep n times; the table shows each level's median round (default 1)
//     --markdown <file>     also write the table as Markdown
var options = BenchOptions.Parse(args);
if (options is null) return 2;

var repo = BenchOptions.FindRepoRoot();
var request = new EchoRequest { Message = "bench", Payload = ByteString.CopyFrom(new byte[options.PayloadBytes]) };
var results = new List<LevelResult>();
var peaks = new Dictionary<string, long>();

Console.WriteLine($"load average at start: {ProcStat.LoadAverage()}");
Console.WriteLine($"transport benchmark: levels {string.Join(",", options.Levels)}, initial warm-up {options.InitialWarmup.TotalSeconds:0.#} s, warm-up {options.Warmup.TotalSeconds:0.#} s, " +
                  $"measured {options.Duration.TotalSeconds:0.#} s per level, payload {options.PayloadBytes} B, {Environment.ProcessorCount} cores");

// Both servers run for the whole benchmark and the levels alternate between them, so that
// background load on a shared machine falls on both alike.
var servers = new List<(ChildServer Server, GrpcChannel Channel)>();
try
{
    foreach (var name in options.Servers)
    {
        var server = await StartServerAsync(name, options, repo);
        var channel = GrpcChannel.ForAddress(server.Address);
        servers.Add((server, channel));
        Console.WriteLine($"{name}: pid {server.Pid} at {server.Address}");
        await UnaryLoad.VerifyAsync(channel, request);
        if (options.InitialWarmup > TimeSpan.Zero)
            await UnaryLoad.RunAsync(server, channel, request, options.Levels.Max(), TimeSpan.Zero, options.InitialWarmup);
    }
    for (var round = 1; round <= options.Rounds; round++)
    {
        foreach (var level in options.Levels)
        {
            foreach (var (server, channel) in servers)
            {
                var result = await UnaryLoad.RunAsync(server, channel, request, level, options.Warmup, options.Duration);
                results.Add(result);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round} {server.Name,-8} x{level,-3} {result.CallsPerSecond,10:0} calls/s  p50 {result.P50Ms,7:0.000} ms  p99 {result.P99Ms,7:0.000} ms  others {result.OtherLoadPercent,3:0}% CPU  errors {result.Errors}"));
                if (result.FirstError is not null) Console.WriteLine($"    first error: {result.FirstError}");
                if (server.HasExited) throw new InvalidOperationException($"{server.Name} died during the run: {server.StandardError()}");
            }
        }
    }
    foreach (var (server, _) in servers) peaks[server.Name] = server.PeakRssBytes();
}
finally
{
    foreach (var (server, channel) in servers)
    {
        channel.Dispose();
        await server.DisposeAsync();
    }
}

var table = Report.Table(results, peaks) + $"load average at end: {ProcStat.LoadAverage()}{Environment.NewLine}";
Console.WriteLine();
Console.WriteLine(table);
if (options.MarkdownPath is not null) await File.WriteAllTextAsync(options.MarkdownPath, table);
return results.Any(r => r.Errors > 0 || r.Calls == 0) ? 1 : 0;

static async Task<ChildServer> StartServerAsync(string name, BenchOptions options, string repo)
{
    var startTimeout = TimeSpan.FromSeconds(60);
    switch (name)
    {
        case "ours":
        {
            var dll = options.ServerDll ?? BenchOptions.DefaultServerDll(repo);
            return await ChildServer.StartAsync(name, "dotnet", [dll, "--urls", "http://127.0.0.1:0"], startTimeout);
        }
        case "grpc-js":
        {
            var script = options.NodeServer ?? Path.Combine(repo, "tests", "interop", "node", "echo-server.js");
            await EnsureNodeModulesAsync(Path.GetDirectoryName(script)!);
            return await ChildServer.StartAsync(name, "node", [script, "--port", "0", "--exit-on-stdin-close"], startTimeout);
        }
        case var other when other.Contains('=', StringComparison.Ordinal):
        {
            var (label, dll) = (other[..other.IndexOf('=', StringComparison.Ordinal)], Path.GetFullPath(other[(other.IndexOf('=', StringComparison.Ordinal) + 1)..]));
            return await ChildServer.StartAsync(label, "dotnet", [dll, "--urls", "http://127.0.0.1:0"], startTimeout);
        }
        default:
            throw new ArgumentException($"unknown server {name} (ours, grpc-js or name=<dll>)");
    }
}

// The grpc-js server needs its npm packages; install them from the lock file when missing.
static async Task EnsureNodeModulesAsync(string directory)
{
    if (Directory.Exists(Path.Combine(directory, "node_modules", "@grpc", "grpc-js"))) return;
    Console.WriteLine($"npm ci in {directory}");
    var info = new ProcessStartInfo("npm") { WorkingDirectory = directory, UseShellExecute = false };
    foreach (var a in new[] { "ci", "--no-audit", "--no-fund", "--loglevel=error" }) info.ArgumentList.Add(a);
    using var npm = Process.Start(info) ?? throw new InvalidOperationException("could not start npm");
    await npm.WaitForExitAsync();
    if (npm.ExitCode != 0) throw new InvalidOperationException($"npm ci failed with exit code {npm.ExitCode}");
}

internal sealed record BenchOptions(
    TimeSpan Duration, TimeSpan Warmup, int[] Levels, int PayloadBytes, string[] Servers,
    string? ServerDll, string? NodeServer, string? MarkdownPath, int Rounds, TimeSpan InitialWarmup)
{
    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), [1, 16, 64], 0, ["ours", "grpc-js"], null, null, null, 1, TimeSpan.FromSeconds(5));
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            static double Seconds(string s) => double.Parse(s, CultureInfo.InvariantCulture);
            switch (args[i])
            {
                case "--duration": o = o with { Duration = TimeSpan.FromSeconds(Seconds(Next())) }; break;
                case "--warmup": o = o with { Warmup = TimeSpan.FromSeconds(Seconds(Next())) }; break;
                case "--initial-warmup": o = o with { InitialWarmup = TimeSpan.FromSeconds(Seconds(Next())) }; break;
                case "--levels": o = o with { Levels = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() }; break;
                case "--payload": o = o with { PayloadBytes = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                case "--servers": o = o with { Servers = Next().Split(',', StringSplitOptions.RemoveEmptyEntries) }; break;
                case "--server-dll": o = o with { ServerDll = Path.GetFullPath(Next()) }; break;
                case "--node-server": o = o with { NodeServer = Path.GetFullPath(Next()) }; break;
                case "--markdown": o = o with { MarkdownPath = Path.GetFullPath(Next()) }; break;
                case "--rounds": o = o with { Rounds = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]} (see the header of Program.cs)");
                    return null;
            }
        }
        if (o.Levels.Length == 0 || o.Levels.Any(l => l < 1) || o.Duration <= TimeSpan.Zero || o.Rounds < 1 || o.Warmup < TimeSpan.Zero || o.InitialWarmup < TimeSpan.Zero || o.PayloadBytes < 0)
        {
            Console.Error.WriteLine("levels and rounds must be >= 1, duration > 0, warm-up and payload >= 0");
            return null;
        }
        return o;
    }

    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Annotate.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Annotate.sln not found above " + AppContext.BaseDirectory);
    }

    // The interop server is built with this project (ProjectReference without reference):
    // take the build of the same configuration.
    public static string DefaultServerDll(string repo)
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var dll = Path.Combine(repo, "tests", "Annotate.Grpc.InteropServer", "bin", configuration, "net10.0", "Annotate.Grpc.InteropServer.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build tests/Annotate.Grpc.InteropServer -c {configuration} first, or pass --server-dll", dll);
    }
}

internal static class Report
{
    public static string Table(IReadOnlyList<LevelResult> allRounds, IReadOnlyDictionary<string, long> peakRss)
    {
        // One row per server and level: the round with the median throughput (all of its figures).
        var results = allRounds
            .GroupBy(r => (r.Server, r.Concurrency))
            .Select(g => g.OrderBy(r => r.CallsPerSecond).ElementAt((g.Count() - 1) / 2))
            .OrderBy(r => r.Concurrency).ThenBy(r => allRounds.ToList().FindIndex(x => x.Server == r.Server))
            .ToList();
        var rounds = allRounds.GroupBy(r => (r.Server, r.Concurrency)).Max(g => g.Count());
        var text = new StringBuilder();
        if (rounds > 1) text.AppendLine(CultureInfo.InvariantCulture, $"median of {rounds} rounds per row");
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine("| server  | callers | calls/s | p50 ms | p99 ms | server CPU-ms/call | client CPU-ms/call | other procs CPU % | errors |");
        text.AppendLine("|---------|--------:|--------:|-------:|-------:|-------------------:|-------------------:|------------------:|-------:|");
        foreach (var r in results)
        {
            text.AppendLine(string.Create(inv,
                $"| {r.Server,-7} | {r.Concurrency,7} | {r.CallsPerSecond,7:0} | {r.P50Ms,6:0.000} | {r.P99Ms,6:0.000} | {r.ServerCpuMsPerCall,18:0.0000} | {r.ClientCpuMsPerCall,18:0.0000} | {r.OtherLoadPercent,17:0} | {r.Errors,6} |"));
        }
        var ours = results.Where(r => r.Server == "ours").ToDictionary(r => r.Concurrency);
        var theirs = results.Where(r => r.Server == "grpc-js").ToDictionary(r => r.Concurrency);
        var shared = ours.Keys.Intersect(theirs.Keys).Order().ToArray();
        if (shared.Length > 0)
        {
            text.AppendLine();
            text.AppendLine("| callers | calls/s ours/grpc-js | p99 ours/grpc-js | server CPU/call ours/grpc-js |");
            text.AppendLine("|--------:|---------------------:|-----------------:|-----------------------------:|");
            foreach (var level in shared)
            {
                var (a, b) = (ours[level], theirs[level]);
                text.AppendLine(string.Create(inv,
                    $"| {level,7} | {a.CallsPerSecond / b.CallsPerSecond,19:0.00}x | {a.P99Ms / b.P99Ms,15:0.00}x | {a.ServerCpuMsPerCall / b.ServerCpuMsPerCall,27:0.00}x |"));
            }
        }
        text.AppendLine();
        foreach (var (server, bytes) in peakRss)
        {
            text.AppendLine(string.Create(inv, $"peak RSS (VmHWM) {server}: {bytes / (1024.0 * 1024.0):0.0} MiB"));
        }
        return text.ToString();
    }
}
