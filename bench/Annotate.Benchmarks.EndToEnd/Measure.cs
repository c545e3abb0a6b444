using System.Diagnostics;

namespace Annotate.Benchmarks.EndToEnd;

/// <summary>What the server, this process, the machine and the bench database spent during one measured window.</summary>
internal sealed record Window(
    long Start,
    long End,
    TimeSpan ServerCpu,
    TimeSpan ClientCpu,
    TimeSpan? PostgresCpu,
    TimeSpan OtherCpu,
    DatabaseCounters Db)
{
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(Start, End);

    public bool Contains(long ticks) => ticks >= Start && ticks <= End;

    /// <summary>CPU that neither the server, PostgreSQL nor this process used, as a share of all cores: whatever else shares the
    /// machine.</summary>
    public double OtherCpuPercent => OtherCpu.TotalMilliseconds / (Elapsed.TotalMilliseconds * Environment.ProcessorCount) * 100;

    /// <summary>Waits <paramref name="duration"/> while the load runs, with counters read at both ends.</summary>
    public static async Task<Window> MeasureAsync(ServerUnderTest server, BenchPostgres pg, string database, TimeSpan duration)
    {
        var db0 = await pg.CountersAsync(database);
        var server0 = server.CpuTime();
        var client0 = Process.GetCurrentProcess().TotalProcessorTime;
        var machine0 = ProcStat.MachineBusyTime();
        var pg0 = pg.CpuTimes();
        var start = Stopwatch.GetTimestamp();
        // A timed benchmark waits out its window: the load runs meanwhile on other tasks.
        await Task.Delay(duration);
        var end = Stopwatch.GetTimestamp();
        var server1 = server.CpuTime();
        var client1 = Process.GetCurrentProcess().TotalProcessorTime;
        var machine1 = ProcStat.MachineBusyTime();
        var pg1 = pg.CpuTimes();
        var db1 = await pg.CountersAsync(database);
        TimeSpan? postgres = pg.Postmaster is null ? null : ProcStat.Spent(pg0, pg1);
        var other = machine1 - machine0 - (server1 - server0) - (client1 - client0) - (postgres ?? TimeSpan.Zero);
        return new Window(
            start,
            end,
            server1 - server0,
            client1 - client0,
            postgres,
            other < TimeSpan.Zero ? TimeSpan.Zero : other,
            db1 - db0);
    }
}

/// <summary>Percentiles of durations in Stopwatch ticks (nearest rank over the sorted samples), in milliseconds.</summary>
internal static class Percentile
{
    public static double Ms(long[] sorted, double p) =>
        sorted.Length == 0
            ? double.NaN
            : sorted[(int)Math.Clamp(Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)] * 1000.0 / Stopwatch.Frequency;

    public static long[] Sorted(IEnumerable<long> ticks)
    {
        var a = ticks.ToArray();
        Array.Sort(a);
        return a;
    }
}
