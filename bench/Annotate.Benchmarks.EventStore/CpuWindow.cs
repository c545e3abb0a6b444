using System.Diagnostics;

namespace Annotate.Benchmarks.EventStore;

/// <summary>
/// CPU time spent between its start and <see cref="Stop"/>: by this process and the children it waited for (pgbench),
/// by PostgreSQL (the postmaster's processes alive at the end, plus the backends that exited meanwhile), and by the
/// rest of the machine ("other", as a share of all cores: what else ran meanwhile).
/// </summary>
internal sealed class CpuWindow(BenchPostgres pg)
{
    private readonly TimeSpan _machine = ProcStat.MachineBusyTime();
    private readonly TimeSpan _self = ProcStat.SelfAndChildrenCpuTime();
    private readonly Dictionary<int, TimeSpan> _postgres = pg.CpuTimes();
    private readonly TimeSpan _reaped = pg.Postmaster is { } pid ? ProcStat.ReapedChildrenCpuTime(pid) : TimeSpan.Zero;
    private readonly long _start = Stopwatch.GetTimestamp();

    public (double SelfSeconds, double PostgresSeconds, double OtherPercent) Stop()
    {
        var elapsed = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var self = (ProcStat.SelfAndChildrenCpuTime() - _self).TotalSeconds;
        // The processes alive first, then the reaped ones: a backend that exits in between is counted twice (a few
        // milliseconds at most) rather than not at all.
        var alive = ProcStat.Spent(_postgres, pg.CpuTimes());
        var reaped = pg.Postmaster is { } pid ? ProcStat.ReapedChildrenCpuTime(pid) - _reaped : TimeSpan.Zero;
        var postgres = (alive + reaped).TotalSeconds;
        var other = ((ProcStat.MachineBusyTime() - _machine).TotalSeconds - self - postgres) / (elapsed * Environment.ProcessorCount) * 100;
        return (self, postgres, Math.Max(0, other));
    }
}
