using Annotate.Testing;
using Npgsql;

namespace Annotate.EventStore.Tests;

/// <summary>Each test gets its own schema in the class's database, and stores with their own data sources.</summary>
internal sealed class TestStores : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];

    private TestStores(string connectionString, string schema)
    {
        ConnectionString = connectionString;
        Schema = schema;
    }

    public string ConnectionString { get; }
    public string Schema { get; }

    public static async Task<TestStores> CreateAsync(PostgresDatabase db)
    {
        var t = new TestStores(db.ConnectionString, "t_" + Guid.NewGuid().ToString("N")[..12]);
        await EventStoreSchema.MigrateAsync(new EventStoreOptions { ConnectionString = db.ConnectionString, Schema = t.Schema });
        return t;
    }

    /// <summary>A store instance with its own connection pool, tagged with an application name (to find its backends).</summary>
    public PostgresEventStore NewStore(string applicationName = "es-test", int subscriberBuffer = 512, int pageSize = 5000)
    {
        var cs = new NpgsqlConnectionStringBuilder(ConnectionString)
        {
            ApplicationName = applicationName,
            MaxPoolSize = 20,
        }.ConnectionString;
        var store = new PostgresEventStore(
            new EventStoreOptions
            {
                ConnectionString = cs,
                Schema = Schema,
                SubscriberBuffer = subscriberBuffer,
                ReadPageSize = pageSize,
            });
        _owned.Add(store);
        return store;
    }

    public async Task<NpgsqlConnection> OpenAdminAsync()
    {
        var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        return conn;
    }

    public async Task<long> ExecuteAsync(string sql)
    {
        await using var conn = await OpenAdminAsync();
        await using var cmd = new NpgsqlCommand(sql.Replace("{s}", "\"" + Schema + "\"", StringComparison.Ordinal), conn);
        return await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var conn = await OpenAdminAsync();
        await using var cmd = new NpgsqlCommand(sql.Replace("{s}", "\"" + Schema + "\"", StringComparison.Ordinal), conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var o in Enumerable.Reverse(_owned)) await o.DisposeAsync();
    }

    public static EventData Event(string type = "thing-happened.v1", string? json = null, EventMetadata? metadata = null) =>
        new(Guid.NewGuid(), type, json ?? "{\"n\": 1}", metadata);

    public static EventData[] Events(int n, string type = "thing-happened.v1") =>
        Enumerable.Range(0, n).Select(i => new EventData(Guid.NewGuid(), type, $"{{\"i\": {i}}}")).ToArray();

    /// <summary>Polls a condition until it holds or the deadline passes (no fixed sleeps).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for: " + what);
            await Task.Yield();
            await Task.Delay(20);
        }
    }
}
