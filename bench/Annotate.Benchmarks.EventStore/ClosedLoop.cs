using System.Diagnostics;

namespace Annotate.Benchmarks.EventStore;

/// <summary>What a closed loop did: calls completed in the window, every call completed, their latencies, the first error.</summary>
internal sealed record LoopResult(long WindowCalls, double WindowSeconds, long TotalCalls, double[] LatenciesMs, Exception? Error)
{
    public double CallsPerSecond => WindowCalls / WindowSeconds;
}

/// <summary>
/// N workers, each issuing its next call when the previous one returned, for a warm-up (the JIT, the pools, Marten's
/// first-use work) and then a window. A call counts in the window when it completes inside it; its latency is from
/// its start to its completion.
/// </summary>
internal static class ClosedLoop
{
    public static async Task<LoopResult> RunAsync(int workers, TimeSpan warmup, TimeSpan window, Func<int, long, Task> call)
    {
        var windowStart = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var windowEnd = windowStart + (long)(window.TotalSeconds * Stopwatch.Frequency);
        Exception? error = null;
        long total = 0;
        // One list per worker: a shared collection written by 64 workers would measure its own contention.
        var samples = new List<double>[workers];
        await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            var mine = samples[w] = new List<double>(4096);
            for (long n = 0; ; n++)
            {
                var t0 = Stopwatch.GetTimestamp();
                if (t0 >= windowEnd) return;
                try
                {
                    await call(w, n);
                }
                catch (Exception e)
                {
                    // A failed call is a broken scenario, not a figure: stop this worker and report the error.
                    Interlocked.CompareExchange(ref error, e, null);
                    return;
                }
                var t1 = Stopwatch.GetTimestamp();
                Interlocked.Increment(ref total);
                if (t1 >= windowStart && t1 < windowEnd) mine.Add((t1 - t0) * 1000.0 / Stopwatch.Frequency);
            }
        })));
        var all = samples.SelectMany(s => s).ToArray();
        Array.Sort(all);
        return new LoopResult(all.Length, window.TotalSeconds, total, all, error);
    }

    /// <summary>Nearest-rank percentile of sorted samples; NaN when there are none.</summary>
    public static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
