using System.Collections.Concurrent;
using System.Globalization;
using Annotate.Postgres;
using Annotate.Testing;
using Xunit.Abstractions;

namespace Annotate.EventStore.Tests;

/// <summary>
/// PostgreSQL itself dies (SIGKILL to the postmaster of this test's own cluster) while two replicas append and
/// subscribers tail both, and is started again.
/// </summary>
public sealed class OutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"annotate-store-outage-{Guid.NewGuid():N}"[..36]);
    private EmbeddedPostgresOptions _options = null!;
    private EmbeddedPostgres? _postgres;

    public async Task InitializeAsync()
    {
        _options = new EmbeddedPostgresOptions { DataDirectory = _dir, Settings = new Dictionary<string, string> { ["fsync"] = "off" } };
        _postgres = await EmbeddedPostgres.StartAsync(_options);
        _options = _options with { Port = _postgres.Port }; // started again on the same port, as a restarted database is
    }

    public async Task DisposeAsync()
    {
        if (_postgres is not null) await _postgres.StopAsync();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task A_database_crash_under_two_replicas_loses_no_acknowledged_append_and_the_tails_resume_in_order_without_gaps()
    {
        await using var t = await TestStores.CreateAsync(_postgres!.ConnectionString);
        var a = t.NewStore("crash-a", loggerFactory: new TestLoggerFactory(output));
        var b = t.NewStore("crash-b", loggerFactory: new TestLoggerFactory(output));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var tails = new[] { new Tail(a, cts.Token, resume: true), new Tail(b, cts.Token, resume: true) };

        var acknowledged = new ConcurrentDictionary<string, (Guid[] Ids, AppendResult Result)>();
        var failed = new ConcurrentDictionary<string, (string Stream, EventData[] Events)>();
        var progress = new Signal();
        var restarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stop = false;
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? a : b;
            for (var i = 0; !Volatile.Read(ref stop); i++)
            {
                var key = $"w{w}-req-{i}";
                var stream = $"w{w}-{i % 3}";
                var events = TestStores.Events(1 + i % 4);
                try
                {
                    acknowledged[key] = (events.Select(e => e.EventId).ToArray(),
                        await store.AppendAsync(stream, ExpectedVersion.Any, events, key));
                }
                catch (Exception) // the database is gone: the outcome is unknown, the request is retried later with its key
                {
                    failed[key] = (stream, events);
                    progress.Pulse();
                    await restarted.Task;
                }
                progress.Pulse();
            }
        })).ToList();

        Assert.True(await progress.WaitUntilAsync(() => acknowledged.Count >= 50, TimeSpan.FromSeconds(60)), "no appends before the crash");
        await KillPostgresAsync();
        Assert.True(await progress.WaitUntilAsync(() => failed.Count >= 2, TimeSpan.FromSeconds(60)), "no append saw the crash");
        _postgres = await EmbeddedPostgres.StartAsync(_options);
        restarted.SetResult();
        var before = acknowledged.Count;
        Assert.True(await progress.WaitUntilAsync(() => acknowledged.Count >= before + 50, TimeSpan.FromSeconds(60)), "no appends after the restart");
        Volatile.Write(ref stop, true);
        await Task.WhenAll(writers);

        // The failed requests, retried with their keys, are appended at most once more each.
        foreach (var (key, (stream, events)) in failed)
            acknowledged[key] = (events.Select(e => e.EventId).ToArray(), await a.AppendAsync(stream, ExpectedVersion.Any, events, key));

        var stored = new Dictionary<Guid, long>();
        await foreach (var e in a.ReadAllAsync()) Assert.True(stored.TryAdd(e.EventId, e.Position), $"event {e.EventId} stored twice");
        foreach (var (key, (ids, result)) in acknowledged)
        {
            var positions = ids.Select(id => stored.TryGetValue(id, out var p) ? p : -1).ToList();
            Assert.Equal(Enumerable.Range((int)result.FirstPosition, ids.Length).Select(p => (long)p), positions);
        }
        Assert.Equal(acknowledged.Values.Sum(v => v.Ids.Length), stored.Count);
        var head = await a.GetHeadPositionAsync();
        foreach (var tail in tails) await tail.WaitForAsync(head, cts.Token);
        await cts.CancelAsync();
        var order = stored.Values.Order().ToList();
        foreach (var tail in tails) Assert.Equal(order, await tail.PositionsAsync());
        Assert.True((await a.VerifyAsync()).IsIntact);
        output.WriteLine($"acknowledged before the crash: {before}, failed and retried: {failed.Count}, events: {stored.Count}, " +
            $"head: {head}, resumed subscriptions: {tails.Sum(x => x.Resumes)}");
    }

    /// <summary>SIGKILL to the postmaster named in the cluster's lock file; returns once it is gone (or only a zombie).</summary>
    private async Task KillPostgresAsync()
    {
        var pid = int.Parse(File.ReadLines(Path.Combine(_dir, "pgdata", "postmaster.pid")).First().Trim(), CultureInfo.InvariantCulture);
        using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        var gone = new Signal();
        using var ticker = new Timer(_ => gone.Pulse(), null, 20, 20);
        Assert.True(await gone.WaitUntilAsync(() => !IsRunning(pid), TimeSpan.FromSeconds(30)), $"PostgreSQL (pid {pid}) did not die");
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException) { return false; }
    }
}
