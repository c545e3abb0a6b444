using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Annotate.Benchmarks.Transport;

/// <summary>
/// A server under test, run as a child process. Both servers share one start-up contract:
/// they print "listening on http://127.0.0.1:&lt;port&gt;" on stdout once ready, and stop
/// when their stdin pipe closes (so a crashed benchmark leaves nothing behind).
/// </summary>
internal sealed class ChildServer : IAsyncDisposable
{
    private const string ReadyPrefix = "listening on ";
    private readonly Process _process;
    private readonly StringBuilder _stderr;

    private ChildServer(string name, Process process, string address, StringBuilder stderr)
    {
        Name = name;
        _process = process;
        Address = address;
        _stderr = stderr;
    }

    public string Name { get; }
    public string Address { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static async Task<ChildServer> StartAsync(string name, string fileName, IEnumerable<string> arguments, TimeSpan startTimeout)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(startTimeout);
        try
        {
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"{name} exited before it was ready (exit code {ExitCodeOf(process)}): {Snapshot(stderr)}");
                if (!line.StartsWith(ReadyPrefix, StringComparison.Ordinal)) continue;
                var server = new ChildServer(name, process, line[ReadyPrefix.Length..].Trim(), stderr);
                // Keep draining stdout so a chatty server never blocks on a full pipe.
                _ = Task.Run(async () =>
                {
                    while (await process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is not null) { }
                });
                return server;
            }
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            throw new TimeoutException($"{name} did not report 'listening on' within {startTimeout.TotalSeconds:0} s: {Snapshot(stderr)}");
        }
        catch
        {
            KillQuietly(process);
            throw;
        }
    }

    /// <summary>User + system CPU time the server process has used so far.</summary>
    public TimeSpan CpuTime() => ProcStat.CpuTime(Pid);

    /// <summary>Peak resident set size (VmHWM) of the server process so far, in bytes.</summary>
    public long PeakRssBytes() => ProcStat.PeakRssBytes(Pid);

    public string StandardError()
    {
        lock (_stderr) return _stderr.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process.HasExited)
        {
            _process.Dispose();
            return;
        }
        try
        {
            _process.StandardInput.Close(); // the polite stop: both servers exit when stdin closes
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(_process);
        }
        catch (IOException)
        {
            KillQuietly(_process);
        }
        _process.Dispose();
    }

    private static string Snapshot(StringBuilder stderr)
    {
        lock (stderr) return stderr.Length == 0 ? "(no stderr output)" : stderr.ToString();
    }

    private static string ExitCodeOf(Process process) =>
        process.WaitForExit(1000) ? process.ExitCode.ToString(CultureInfo.InvariantCulture) : "?";

    private static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}

/// <summary>Reads a process's CPU time and peak memory from /proc (Linux only).</summary>
internal static class ProcStat
{
    // /proc reports times in USER_HZ clock ticks, which the kernel ABI fixes at 100 per second.
    private const double TicksPerSecond = 100.0;

    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) is in parentheses and may contain spaces: fields are
        // counted after its closing parenthesis, where field 3 (state) comes first.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(fields[14 - 3], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[15 - 3], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((utime + stime) / TicksPerSecond);
    }

    /// <summary>CPU time all cores spent busy since boot (user, nice, system, irq, softirq, steal).</summary>
    public static TimeSpan MachineBusyTime()
    {
        using var reader = new StreamReader("/proc/stat");
        var fields = (reader.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // "cpu user nice system idle iowait irq softirq steal ..."
        long Field(int i) => fields.Length > i ? long.Parse(fields[i], CultureInfo.InvariantCulture) : 0;
        var busy = Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8);
        return TimeSpan.FromSeconds(busy / TicksPerSecond);
    }

    public static string LoadAverage() => File.ReadAllText("/proc/loadavg").Trim();

    public static long PeakRssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }
}
