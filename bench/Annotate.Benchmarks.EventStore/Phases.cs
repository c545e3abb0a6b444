using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Annotate.EventStore;
using Npgsql;

namespace Annotate.Benchmarks.EventStore;

internal sealed record BenchOptions(int Events, int Seconds, int Appenders, int Subscribers)
{
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions(100_000, 5, 64, 500);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var v = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            o = args[i] switch
            {
                "--events" => o with { Events = v },
                "--seconds" => o with { Seconds = v },
                "--appenders" => o with { Appenders = v },
                "--subscribers" => o with { Subscribers = v },
                _ => throw new ArgumentException($"unknown option {args[i]}; known: --events --seconds --appenders --subscribers"),
            };
        }
        return o;
    }
}

internal sealed record AppendFigures(double EventsPerSecond, double EventsPerCommit, double P50, double P99);
internal sealed record LiveFigures(double Rate, double P50, double P99, long Deliveries, double AppendP50, double AppendP99);

/// <summary>Latency histogram in 10 µs buckets up to 2 s; thread-safe, allocation-free recording.</summary>
internal sealed class Histogram
{
    private readonly long[] _buckets = new long[200_001];

    public void Record(double milliseconds) =>
        Interlocked.Increment(ref _buckets[(int)Math.Clamp(milliseconds * 100, 0, _buckets.Length - 1)]);

    public void Add(double milliseconds, long count) =>
        Interlocked.Add(ref _buckets[(int)Math.Clamp(milliseconds * 100, 0, _buckets.Length - 1)], count);

    public long Count => _buckets.Sum();

    public double Percentile(double p)
    {
        var target = (long)Math.Ceiling(Count * p);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += _buckets[i];
            if (seen >= target && target > 0) return (i + 1) / 100.0;
        }
        return double.NaN;
    }
}

/// <summary>One recorder's histogram (100 µs buckets up to 2 s), not thread-safe; merged into a <see cref="Histogram"/>.</summary>
internal sealed class LocalHistogram
{
    private readonly int[] _buckets = new int[20_001];
    private long _count;

    public void Record(double milliseconds)
    {
        _buckets[(int)Math.Clamp(milliseconds * 10, 0, _buckets.Length - 1)]++;
        Volatile.Write(ref _count, _count + 1);
    }

    public long Count => Volatile.Read(ref _count);

    public void AddTo(Histogram target)
    {
        for (var i = 0; i < _buckets.Length; i++)
            if (_buckets[i] > 0) target.Add(i / 10.0, _buckets[i]);
    }
}

internal static class Phases
{
    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public static async Task<AppendFigures> AppendAsync(PostgresEventStore store, int appenders, TimeSpan duration)
    {
        // Warm-up (pool, JIT, prepared plans), not measured.
        await RunAppendersAsync(store, appenders, TimeSpan.FromSeconds(1), null);
        var commits = store.Statistics.Commits;
        var events = store.Statistics.Events;
        var rt1 = store.Statistics.LockAndRead;
        var rt2 = store.Statistics.WriteAndCommit;
        var histogram = new Histogram();
        var sw = Stopwatch.StartNew();
        var count = await RunAppendersAsync(store, appenders, duration, histogram);
        var seconds = sw.Elapsed.TotalSeconds;
        var c = store.Statistics.Commits - commits;
        var e = store.Statistics.Events - events;
        Console.WriteLine($"per commit: lock+read {(store.Statistics.LockAndRead - rt1).TotalMilliseconds / c:N2} ms, write+commit {(store.Statistics.WriteAndCommit - rt2).TotalMilliseconds / c:N2} ms, wall {seconds * 1000 / c:N2} ms");
        return new AppendFigures(count / seconds, (double)e / c, histogram.Percentile(0.50), histogram.Percentile(0.99));
    }

    private static async Task<long> RunAppendersAsync(PostgresEventStore store, int appenders, TimeSpan duration, Histogram? histogram)
    {
        long total = 0;
        var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            var metadata = new EventMetadata(Actor: $"bench-{a}");
            while (Stopwatch.GetTimestamp() < until)
            {
                var start = Stopwatch.GetTimestamp();
                await store.AppendAsync(
                    $"claim-{a}",
                    ExpectedVersion.Any,
                    [new EventData(Guid.NewGuid(), "bench-appended.v1", "{\"t\": 1}", metadata)]);
                histogram?.Record(Ms(Stopwatch.GetTimestamp() - start));
                Interlocked.Increment(ref total);
            }
        })));
        return total;
    }

    public static async Task<double> PgbenchAsync(BenchServer server, string schema, int clients, int seconds)
    {
        var exe = new[] { "/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench" }.FirstOrDefault(File.Exists);
        if (exe is null) return double.NaN;
        await using (var conn = new NpgsqlConnection(server.ConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand(
                $"CREATE TABLE \"{schema}\".pgbench_events (LIKE \"{schema}\".events INCLUDING ALL); CREATE SEQUENCE \"{schema}\".pgbench_position;", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var script = Path.Combine(Path.GetTempPath(), $"annotate-pgbench-{Guid.NewGuid():N}.sql");
        // One event per transaction, same columns and indexes as the store's table, values of the same size.
        await File.WriteAllTextAsync(script, $$"""
            \set v random(1, 1000000000)
            INSERT INTO "{{schema}}".pgbench_events (position, stream_id, stream_version, event_id, type, data, metadata, article_id, recorded_at, hash) VALUES (nextval('"{{schema}}".pgbench_position'), 'claim-' || :client_id, :v, gen_random_uuid(), 'bench-appended.v1', '{"t": 1}', '{"actor":"bench-1"}', NULL, clock_timestamp(), sha256('x'::bytea));

            """);
        try
        {
            var cs = new NpgsqlConnectionStringBuilder(server.ConnectionString);
            var psi = new ProcessStartInfo(
                exe,
                [
                    "-n",
                    "-c",
                    clients.ToString(CultureInfo.InvariantCulture),
                    "-j",
                    "2",
                    "-T",
                    seconds.ToString(CultureInfo.InvariantCulture),
                    "-f",
                    script,
                    "-h",
                    cs.Host!,
                    "-p",
                    cs.Port.ToString(CultureInfo.InvariantCulture),
                    "-U",
                    cs.Username ?? "postgres",
                    cs.Database ?? "postgres",
                ])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (cs.Password is { } pw) psi.Environment["PGPASSWORD"] = pw;
            using var p = Process.Start(psi)!;
            var stdout = await p.StandardOutput.ReadToEndAsync();
            var stderr = await p.StandardError.ReadToEndAsync();
            await p.WaitForExitAsync();
            var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("tps = ", StringComparison.Ordinal));
            if (line is null) throw new InvalidOperationException("pgbench failed: " + stderr + stdout);
            return double.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture);
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>Brings the store to at least <paramref name="events"/> events with large concurrent appends.</summary>
    public static async Task FillAsync(PostgresEventStore store, int events)
    {
        var missing = events - await store.GetHeadPositionAsync();
        if (missing <= 0) return;
        const int perAppend = 200;
        long next = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            while (true)
            {
                var from = Interlocked.Add(ref next, perAppend) - perAppend;
                if (from >= missing) return;
                var n = (int)Math.Min(perAppend, missing - from);
                var batch = new EventData[n];
                for (var i = 0; i < n; i++)
                {
                    batch[i] = new EventData(Guid.NewGuid(), i % 3 == 0 ? "claim-opened.v1" : "stance-taken.v1",
                        $"{{\"claim\": {from + i}, \"stance\": \"SUPPORTS\", \"rationale\": \"filled by the benchmark\"}}",
                        new EventMetadata("bench", ArticleId: $"article-{(from + i) % 5}"));
                }

                await store.AppendAsync($"claim-{from / perAppend % 1000}", ExpectedVersion.Any, batch);
            }
        })));
        Console.WriteLine($"fill: {missing:N0} events in {sw.Elapsed.TotalSeconds:N1} s");
    }

    public static async Task<double> CatchUpAsync(PostgresEventStore store, long head)
    {
        var sw = Stopwatch.StartNew();
        long n = 0;
        await foreach (var m in store.SubscribeAsync(0))
        {
            if (m is SubscriptionMessage.Event) n++;
            else if (m is SubscriptionMessage.CaughtUp c && c.Position >= head) break;
        }
        return n / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Per claim stream: events seen and the last type, as a jsonb document.</summary>
    private sealed class ClaimActivity : IProjection
    {
        public string Name => "claim-activity";
        public IEnumerable<string> KeysOf(RecordedEvent e) => [e.StreamId];

        public JsonObject? Apply(string key, JsonObject? current, RecordedEvent e)
        {
            var doc = current ?? new JsonObject { ["events"] = 0 };
            doc["events"] = doc["events"]!.GetValue<int>() + 1;
            doc["lastType"] = e.Type;
            doc["lastPosition"] = e.Position;
            return doc;
        }
    }

    public static async Task<double> RebuildAsync(PostgresEventStore store, long head)
    {
        await using var runner = new ProjectionRunner(store, [new ClaimActivity()]);
        runner.Start();
        var sw = Stopwatch.StartNew();
        var through = await runner.RebuildAsync("claim-activity");
        return through / sw.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Live delivery: <paramref name="subscribers"/> subscribers from the current head, then appenders at
    /// <paramref name="rate"/> events/s; each delivery's latency is measured from its append call. Subscribers read
    /// one event at a time (<see cref="IEventStore.SubscribeAsync"/>) or, with <paramref name="inBatches"/>, a batch
    /// at a time (<see cref="IEventStore.SubscribeInBatchesAsync"/>).
    /// </summary>
    public static async Task<LiveFigures> LiveAsync(
        PostgresEventStore store,
        int subscribers,
        double rate,
        int appenders,
        TimeSpan duration,
        bool inBatches = false)
    {
        var from = await store.GetHeadPositionAsync();
        using var cts = new CancellationTokenSource();
        var caughtUp = 0;
        // Each subscriber records into its own histogram and counter: one shared counter or histogram written
        // by 500 subscribers on two cores would measure cache-line contention, not delivery.
        var locals = Enumerable.Range(0, subscribers).Select(_ => new LocalHistogram()).ToArray();
        var subs = Enumerable.Range(0, subscribers).Select(i => Task.Run(async () =>
        {
            var mine = locals[i];
            // data is {"t":<Stopwatch timestamp at the append call>}
            void Record(RecordedEvent e) =>
                mine.Record(Ms(Stopwatch.GetTimestamp() - long.Parse(e.Data.AsSpan(5, e.Data.Length - 6), CultureInfo.InvariantCulture)));
            try
            {
                if (inBatches)
                {
                    await foreach (var b in store.SubscribeInBatchesAsync(from, cancellationToken: cts.Token))
                    {
                        if (b.CaughtUp) Interlocked.Increment(ref caughtUp);
                        foreach (var e in b.Events) Record(e);
                    }
                }
                else
                {
                    await foreach (var m in store.SubscribeAsync(from, cancellationToken: cts.Token))
                    {
                        if (m is SubscriptionMessage.CaughtUp) Interlocked.Increment(ref caughtUp);
                        else Record(((SubscriptionMessage.Event)m).Recorded);
                    }
                }
            }
            catch (OperationCanceledException) { }
        })).ToList();
        while (Volatile.Read(ref caughtUp) < subscribers) await Task.Delay(10);

        long issued = 0;
        var appendLatency = new Histogram();
        var start = Stopwatch.GetTimestamp();
        var until = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long lastPosition = 0;
        await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            while (true)
            {
                var k = Interlocked.Increment(ref issued);
                var due = start + (long)(k / rate * Stopwatch.Frequency);
                if (due >= until) return;
                var wait = due - Stopwatch.GetTimestamp();
                if (wait > 0) await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency));
                var t0 = Stopwatch.GetTimestamp();
                var r = await store.AppendAsync($"live-{a}", ExpectedVersion.Any,
                    [new EventData(Guid.NewGuid(), "bench-live.v1", $"{{\"t\":{t0}}}")]);
                appendLatency.Record(Ms(Stopwatch.GetTimestamp() - t0));
                InterlockedMax(ref lastPosition, r.LastPosition);
            }
        })));
        var actualRate = (Volatile.Read(ref lastPosition) - from) / ((double)(Stopwatch.GetTimestamp() - start) / Stopwatch.Frequency);
        var expected = (Volatile.Read(ref lastPosition) - from) * subscribers;
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (locals.Sum(h => h.Count) < expected && Stopwatch.GetTimestamp() < deadline) await Task.Delay(20);
        await cts.CancelAsync();
        await Task.WhenAll(subs);
        var histogram = new Histogram();
        foreach (var local in locals) local.AddTo(histogram);
        return new LiveFigures(actualRate, histogram.Percentile(0.50), histogram.Percentile(0.99), histogram.Count,
            appendLatency.Percentile(0.50), appendLatency.Percentile(0.99));
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current) { }
    }
}
