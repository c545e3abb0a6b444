using System.Text.Json.Nodes;
using Annotate.Testing;

namespace Annotate.EventStore.Tests;

public sealed class ProjectionTests(PostgresDatabase db, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<PostgresDatabase>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Per stream: how many "tally.v1" events, the sum of their values, the last version; "close.v1" deletes.</summary>
    private sealed class Tally : IProjection
    {
        public string Name => "tally";
        public EventFilter Filter { get; } = new(Types: ["tally.v1", "close.v1"]);
        public IEnumerable<string> KeysOf(RecordedEvent e) => [e.StreamId];

        public JsonObject? Apply(string key, JsonObject? current, RecordedEvent e)
        {
            if (e.Type == "close.v1") return null;
            var doc = current ?? new JsonObject { ["count"] = 0, ["sum"] = 0 };
            doc["count"] = doc["count"]!.GetValue<int>() + 1;
            doc["sum"] = doc["sum"]!.GetValue<int>() + ((Tallied)e.Data).V;
            doc["version"] = e.StreamVersion;
            return doc;
        }
    }

    private static EventData TallyEvent(int v) => new(Guid.NewGuid(), new Tallied(v));

    [Fact]
    public async Task A_caller_can_wait_for_its_own_write_to_reach_the_projection()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await using var runner = new ProjectionRunner(store, [new Tally()]);
        runner.Start();

        await store.AppendAsync("claim-1", ExpectedVersion.Any, [TallyEvent(2), TallyEvent(3)]);
        await store.AppendAsync("claim-1", ExpectedVersion.Any, TestStores.Events(1, "ignored.v1"));
        var written = await store.AppendAsync("claim-2", ExpectedVersion.Any, [TallyEvent(10)]);

        Assert.True(await runner.WaitForPositionAsync("tally", written.LastPosition, Timeout));
        AssertJson("{\"count\":2,\"sum\":5,\"version\":2}", await runner.GetDocumentAsync("tally", "claim-1"));
        AssertJson("{\"count\":1,\"sum\":10,\"version\":1}", await runner.GetDocumentAsync("tally", "claim-2"));

        var closed = await store.AppendAsync("claim-2", ExpectedVersion.Any, TestStores.Events(1, "close.v1"));
        Assert.True(await runner.WaitForPositionAsync("tally", closed.LastPosition, Timeout));
        Assert.Null(await runner.GetDocumentAsync("tally", "claim-2"));
        Assert.Equal(closed.LastPosition, await t.ScalarAsync<long>("SELECT position FROM {s}.checkpoints WHERE name = 'tally'"));
    }

    /// <summary>
    /// One document per event, holding the character whose code an event names: the database refuses a document with
    /// U+0000 in jsonb (the event itself, a number, is stored fine).
    /// </summary>
    private sealed class Echo : IProjection
    {
        public string Name => "echo";
        public EventFilter Filter { get; } = new(Types: ["thing-happened.v1"]);
        public IEnumerable<string> KeysOf(RecordedEvent e) => [e.EventId.ToString()];

        public JsonObject? Apply(string key, JsonObject? current, RecordedEvent e) =>
            new() { ["text"] = ((char)((ThingHappened)e.Data).N).ToString() };
    }

    [Fact]
    public async Task A_projection_stops_at_the_one_event_the_database_refuses_names_it_and_the_others_keep_running()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await using var runner = new ProjectionRunner(store, [new Echo(), new Tally()]);
        EventData Echoed(char c) => new(Guid.NewGuid(), new ThingHappened(c));
        var bad = Echoed('\0');

        // One append, so the projection meets the refused event inside a batch of good ones.
        var written = await store.AppendAsync("echo-1", ExpectedVersion.Any,
            [Echoed('1'), Echoed('2'), bad, Echoed('4'), TallyEvent(5)]);
        runner.Start();

        Assert.True(await runner.WaitForPositionAsync("tally", written.LastPosition, Timeout));
        Assert.False(await runner.WaitForPositionAsync("echo", written.LastPosition, Timeout));
        var fault = runner.FaultOf("echo");
        Assert.NotNull(fault);
        Assert.Equal(bad.EventId, fault.EventId);
        Assert.Equal(written.FirstPosition + 2, fault.Position);
        Assert.Contains("22P05", fault.Reason);
        Assert.Null(runner.FaultOf("tally"));
        // The events before it are applied, and the checkpoint stays just before it.
        Assert.Equal(2L, await t.ScalarAsync<long>("SELECT count(*) FROM {s}.projection_documents WHERE projection = 'echo'"));
        Assert.Equal(written.FirstPosition + 1, await t.ScalarAsync<long>("SELECT position FROM {s}.checkpoints WHERE name = 'echo'"));
    }

    [Fact]
    public async Task A_rebuild_from_zero_produces_the_same_rows_as_the_live_projection()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        await using var runner = new ProjectionRunner(store, [new Tally()]);
        runner.Start();
        var appends = Enumerable.Range(0, 300).Select(i => store.AppendAsync($"claim-{i % 17}", ExpectedVersion.Any,
            i % 41 == 40 ? TestStores.Events(1, "close.v1") : [TallyEvent(i), TallyEvent(1)]));
        var last = (await Task.WhenAll(appends)).Max(r => r.LastPosition);
        Assert.True(await runner.WaitForPositionAsync("tally", last, Timeout));
        var live = await Rows(t);

        var rebuiltThrough = await runner.RebuildAsync("tally");
        var rebuilt = await Rows(t);

        Assert.Equal(last, rebuiltThrough);
        Assert.NotEmpty(live);
        Assert.Equal(live, rebuilt);
        // And the same view computed in memory from the events alone, as of the head.
        var computed = await ProjectionRunner.ComputeAsOfAsync(store, new Tally());
        Assert.Equal(live.Select(r => r.Key), computed.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, doc) in live) AssertJson(doc, computed[key]);
    }

    [Fact]
    public async Task A_view_can_be_computed_as_of_an_earlier_position()
    {
        await using var t = await TestStores.CreateAsync(db);
        var store = t.NewStore();
        var early = await store.AppendAsync("claim-1", ExpectedVersion.Any, [TallyEvent(1)]);
        await store.AppendAsync("claim-1", ExpectedVersion.Any, [TallyEvent(5)]);

        var then = await ProjectionRunner.ComputeAsOfAsync(store, new Tally(), toPositionInclusive: early.LastPosition);
        var now = await ProjectionRunner.ComputeAsOfAsync(store, new Tally());

        Assert.Equal(1, then["claim-1"]["sum"]!.GetValue<int>());
        Assert.Equal(6, now["claim-1"]["sum"]!.GetValue<int>());
    }

    [Fact]
    public async Task Two_replicas_running_the_same_projection_apply_each_event_once()
    {
        await using var t = await TestStores.CreateAsync(db);
        var a = t.NewStore("proj-a");
        var b = t.NewStore("proj-b");
        await using var runnerA = new ProjectionRunner(a, [new Tally()], new TestLoggerFactory(output));
        await using var runnerB = new ProjectionRunner(b, [new Tally()], new TestLoggerFactory(output));
        runnerA.Start();
        runnerB.Start();

        var results = await Task.WhenAll(
            Enumerable.Range(0, 200).Select(i => (i % 2 == 0 ? a : b).AppendAsync("claim-1", ExpectedVersion.Any, [TallyEvent(1)])));
        var last = results.Max(r => r.LastPosition);
        Assert.True(await runnerA.WaitForPositionAsync("tally", last, Timeout), $"A at {runnerA.GetPosition("tally")} of {last}");
        Assert.True(await runnerB.WaitForPositionAsync("tally", last, Timeout), $"B at {runnerB.GetPosition("tally")} of {last}");

        var doc = (await runnerA.GetDocumentAsync("tally", "claim-1"))!;
        Assert.Equal(200, doc["count"]!.GetValue<int>());
        Assert.Equal(200, doc["sum"]!.GetValue<int>());
    }

    private static void AssertJson(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}, got {actual?.ToJsonString()}");

    private static async Task<List<(string Key, string Doc)>> Rows(TestStores t)
    {
        var rows = new List<(string, string)>();
        await using var conn = await t.OpenAdminAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(
            $"SELECT key, document::text FROM \"{t.Schema}\".projection_documents WHERE projection = 'tally' ORDER BY key COLLATE \"C\"",
            conn);
        await using var r = await cmd.ExecuteReaderAsync();
        while (await r.ReadAsync()) rows.Add((r.GetString(0), System.Text.Json.Nodes.JsonNode.Parse(r.GetString(1))!.ToJsonString()));
        return rows;
    }
}
