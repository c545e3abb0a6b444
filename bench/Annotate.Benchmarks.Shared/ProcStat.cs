using System.Globalization;

namespace Annotate.Benchmarks;

/// <summary>CPU time and memory of a process, and busy time of the machine, from /proc (Linux only).</summary>
public static class ProcStat
{
    // /proc reports times in USER_HZ ticks, which the kernel ABI fixes at 100 per second.
    private const double TicksPerSecond = 100.0;

    /// <summary>utime + stime of <paramref name="pid"/> (fields 14 and 15 of /proc/&lt;pid&gt;/stat).</summary>
    public static TimeSpan CpuTime(int pid) => Stat(File.ReadAllText($"/proc/{pid}/stat")).Cpu;

    /// <summary>
    /// utime + stime of this process plus cutime + cstime, the time of its child processes that have ended and been
    /// waited for (such as a pgbench run).
    /// </summary>
    public static TimeSpan SelfAndChildrenCpuTime()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = 0;
        for (var field = 14; field <= 17; field++) ticks += long.Parse(fields[field - 3], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>
    /// cutime + cstime of <paramref name="pid"/>: the time of its child processes that have ended and been waited for
    /// (for the postmaster: backends that have exited).
    /// </summary>
    public static TimeSpan ReapedChildrenCpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[16 - 3], CultureInfo.InvariantCulture) + long.Parse(fields[17 - 3], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }

    /// <summary>
    /// utime + stime of <paramref name="parent"/> and each of its child processes alive now, by pid (for PostgreSQL:
    /// the postmaster, its backends and its background processes). A process that ends between two readings takes
    /// its time with it, which a pooled server's long-lived backends rarely do.
    /// </summary>
    public static Dictionary<int, TimeSpan> FamilyCpuTimes(int parent)
    {
        var times = new Dictionary<int, TimeSpan>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string text;
            try { text = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; } // ended meanwhile
            catch (UnauthorizedAccessException) { continue; }
            var (ppid, cpu) = Stat(text);
            if (pid == parent || ppid == parent) times[pid] = cpu;
        }
        return times;
    }

    /// <summary>Time the processes of <paramref name="after"/> spent since <paramref name="before"/> (new ones from zero).</summary>
    public static TimeSpan Spent(Dictionary<int, TimeSpan> before, Dictionary<int, TimeSpan> after) =>
        after.Aggregate(TimeSpan.Zero, (sum, kv) => sum + kv.Value - before.GetValueOrDefault(kv.Key));

    /// <summary>The parent pid (field 4) and utime + stime (fields 14, 15) of a /proc/&lt;pid&gt;/stat line.</summary>
    private static (int Ppid, TimeSpan Cpu) Stat(string stat)
    {
        // Field 2, the command name, is in parentheses and may hold spaces: count fields after its closing one.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[14 - 3], CultureInfo.InvariantCulture) + long.Parse(fields[15 - 3], CultureInfo.InvariantCulture);
        return (int.Parse(fields[4 - 3], CultureInfo.InvariantCulture), TimeSpan.FromSeconds(ticks / TicksPerSecond));
    }

    /// <summary>The parent of <paramref name="pid"/>, or null when it is not visible here.</summary>
    public static int? ParentOf(int pid)
    {
        try { return Stat(File.ReadAllText($"/proc/{pid}/stat")).Ppid; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Peak resident set size (VmHWM) of <paramref name="pid"/> so far, in bytes.</summary>
    public static long PeakRssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }

    /// <summary>Time all cores spent busy since boot (user, nice, system, irq, softirq, steal).</summary>
    public static TimeSpan MachineBusyTime()
    {
        using var reader = new StreamReader("/proc/stat");
        var f = (reader.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Field(int i) => f.Length > i ? long.Parse(f[i], CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromSeconds((Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8)) / TicksPerSecond);
    }

    public static string LoadAverage() => string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
}
