using Annotate.Testing;
using Marten;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Annotate.EventStore.Tests;

/// <summary>
/// Each test gets its own schema in the class's database, with Marten's tables (and ours) applied to it once, as the
/// host does at start. Every store instance stands for a server replica: its own data source (with an application
/// name, to find its backends) and its own Marten document store over it, configured as the host configures its own.
/// </summary>
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

    public static Task<TestStores> CreateAsync(PostgresDatabase db) => CreateAsync(db.ConnectionString);

    public static async Task<TestStores> CreateAsync(string connectionString)
    {
        var t = new TestStores(connectionString, "t_" + Guid.NewGuid().ToString("N")[..12]);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        using var documents = new DocumentStore(Options(dataSource, t.Schema));
        await documents.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        return t;
    }

    /// <summary>The Marten configuration of a store over <paramref name="dataSource"/>: the store's conventions and the test
    /// events.</summary>
    public static StoreOptions Options(NpgsqlDataSource dataSource, string schema)
    {
        var options = new StoreOptions();
        options.Connection(dataSource);
        MartenConventions.Apply(options, schema);
        foreach (var (type, name, _) in TestEvents.Mapped) options.Events.MapEventType(type, name);
        return options;
    }

    /// <summary>A store instance (a replica) with its own connection pool and document store, tagged with an application name.</summary>
    public MartenEventStore NewStore(string applicationName = "es-test", int subscriberBuffer = 512, int pageSize = 5000,
        ILoggerFactory? loggerFactory = null, int maxBatchEvents = 2000, int? viaPort = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString)
        {
            ApplicationName = applicationName,
            MaxPoolSize = 20,
            IncludeErrorDetail = true,
        };
        if (viaPort is { } port) (builder.Host, builder.Port) = ("127.0.0.1", port);
        var cs = builder.ConnectionString;
        var dataSource = NpgsqlDataSource.Create(cs);
        var documents = new DocumentStore(Options(dataSource, Schema));
        var store = new MartenEventStore(
            new EventStoreOptions
            {
                Documents = documents,
                DataSource = dataSource,
                Schema = Schema,
                SubscriberBuffer = subscriberBuffer,
                ReadPageSize = pageSize,
                SubscriberPageSize = pageSize,
                MaxBatchEvents = maxBatchEvents,
            },
            loggerFactory);
        _owned.Add(dataSource);
        _owned.Add(new Disposing(documents.Dispose));
        _owned.Add(store);
        return store;
    }

    public async Task<NpgsqlConnection> OpenAdminAsync()
    {
        var conn = new NpgsqlConnection(ConnectionString);
        await conn.OpenAsync();
        return conn;
    }

    /// <summary>Runs <paramref name="sql"/> with "{s}" standing for the quoted schema.</summary>
    public async Task<long> ExecuteAsync(string sql)
    {
        await using var conn = await OpenAdminAsync();
        await using var cmd = new NpgsqlCommand(InSchema(sql), conn);
        return await cmd.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var conn = await OpenAdminAsync();
        await using var cmd = new NpgsqlCommand(InSchema(sql), conn);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public string InSchema(string sql) => sql.Replace("{s}", "\"" + Schema + "\"", StringComparison.Ordinal);

    public async ValueTask DisposeAsync()
    {
        foreach (var o in Enumerable.Reverse(_owned)) await o.DisposeAsync();
    }

    public static EventData Event(object? data = null, EventMetadata? metadata = null) =>
        new(Guid.NewGuid(), data ?? new ThingHappened(1), metadata);

    /// <summary><paramref name="n"/> events of the test type stored as <paramref name="type"/>, numbered from 0.</summary>
    public static EventData[] Events(int n, string type = "thing-happened.v1") =>
        Enumerable.Range(0, n).Select(i => new EventData(Guid.NewGuid(), TestEvents.Make(type, i))).ToArray();

    /// <summary>Polls a condition until it holds or the deadline passes (no fixed sleeps).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("Timed out waiting for: " + what);
            await Task.Delay(20);
        }
    }

    private sealed class Disposing(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            dispose();
            return ValueTask.CompletedTask;
        }
    }
}
