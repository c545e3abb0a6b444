using System.Diagnostics;
using Annotate.Grpc;
using Interop.V1;

namespace Annotate.Benchmarks.Transport;

/// <summary>What one concurrency level measured against one server.</summary>
internal sealed record LevelResult(
    string Server,
    int Concurrency,
    long Calls,
    long Errors,
    TimeSpan Elapsed,
    double P50Ms,
    double P99Ms,
    double ServerCpuMsPerCall,
    double ClientCpuMsPerCall,
    double OtherLoadPercent,
    string? FirstError)
{
    public double CallsPerSecond => Calls / Elapsed.TotalSeconds;
}

/// <summary>
/// Closed-loop load: <c>concurrency</c> callers each issue one unary call after the other
/// on one shared channel. A warm-up (JIT, connections, pools) runs first and is not counted;
/// then every call that completes inside the measured window is counted and timed.
/// </summary>
internal static class UnaryLoad
{
    private static readonly Method<EchoRequest, EchoResponse> Unary =
        Method<EchoRequest, EchoResponse>.FromDescriptor(EchoReflection.Descriptor.Services.Single(s => s.Name == "Echo").FindMethodByName("Unary"));

    /// <summary>One call whose answer is checked, so a benchmark never times a broken server.</summary>
    public static async Task VerifyAsync(GrpcChannel channel, EchoRequest request)
    {
        var reply = await channel.UnaryAsync(Unary, request, new CallOptions(Deadline: DateTime.UtcNow.AddSeconds(30))).ConfigureAwait(false);
        if (reply.Message != request.Message || !reply.Payload.Equals(request.Payload))
            throw new InvalidOperationException($"the server answered '{reply.Message}' ({reply.Payload.Length} bytes) to '{request.Message}' ({request.Payload.Length} bytes)");
    }

    public static async Task<LevelResult> RunAsync(
        ChildServer server, GrpcChannel channel, EchoRequest request, int concurrency, TimeSpan warmup, TimeSpan duration)
    {
        var measuring = 0;
        var stopping = 0;
        var latencies = new List<long>[concurrency];
        var errors = new long[concurrency];
        string? firstError = null;

        async Task CallerAsync(int caller)
        {
            var mine = latencies[caller] = new List<long>(1 << 14);
            while (Volatile.Read(ref stopping) == 0)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await channel.UnaryAsync(Unary, request, new CallOptions()).ConfigureAwait(false);
                }
                catch (Exception e) when (e is RpcException or HttpRequestException or IOException)
                {
                    if (Volatile.Read(ref measuring) == 1) errors[caller]++;
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                    continue;
                }
                var ended = Stopwatch.GetTimestamp();
                if (Volatile.Read(ref measuring) == 1) mine.Add(ended - started);
            }
        }

        var callers = Enumerable.Range(0, concurrency).Select(i => Task.Run(() => CallerAsync(i))).ToArray();
        // Waiting out fixed phases is the point of a timed benchmark (not a test).
        await Task.Delay(warmup).ConfigureAwait(false);

        var serverCpu0 = server.CpuTime();
        var clientCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var machine0 = ProcStat.MachineBusyTime();
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(duration).ConfigureAwait(false);
        Volatile.Write(ref measuring, 0);
        var elapsed = clock.Elapsed;
        var serverCpu1 = server.CpuTime();
        var clientCpu1 = Process.GetCurrentProcess().TotalProcessorTime;
        var machine1 = ProcStat.MachineBusyTime();

        Volatile.Write(ref stopping, 1);
        await Task.WhenAll(callers).ConfigureAwait(false);

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        var calls = all.LongLength;
        double Percentile(double p) => all.Length == 0 ? double.NaN
            : all[(int)Math.Min(all.Length - 1, Math.Ceiling(p * all.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
        double PerCall(TimeSpan cpu) => calls == 0 ? double.NaN : cpu.TotalMilliseconds / calls;
        // CPU that neither the server nor this load generator used: other work on a shared machine.
        var others = (machine1 - machine0) - (serverCpu1 - serverCpu0) - (clientCpu1 - clientCpu0);
        var otherLoadPercent = Math.Max(0, others.TotalMilliseconds / (elapsed.TotalMilliseconds * Environment.ProcessorCount) * 100);

        return new LevelResult(
            server.Name, concurrency, calls, errors.Sum(), elapsed,
            Percentile(0.50), Percentile(0.99),
            PerCall(serverCpu1 - serverCpu0), PerCall(clientCpu1 - clientCpu0),
            otherLoadPercent, firstError);
    }
}
