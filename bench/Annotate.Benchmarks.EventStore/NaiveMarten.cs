using JasperFx;
using JasperFx.Events;
using Marten;
using Npgsql;

namespace Annotate.Benchmarks.EventStore;

/// <summary>
/// Marten used the plain way: a lightweight session per event, <c>Events.Append</c>, <c>SaveChangesAsync</c>; string
/// stream keys, Marten's default append mode, a schema of its own. What the writer is measured against.
/// </summary>
internal sealed class NaiveMarten : IAsyncDisposable
{
    public const string Schema = "bench_marten";
    private readonly NpgsqlDataSource _dataSource;

    private NaiveMarten(NpgsqlDataSource dataSource, DocumentStore store)
    {
        _dataSource = dataSource;
        Store = store;
    }

    public DocumentStore Store { get; }

    public EventAppendMode AppendMode => Store.Options.Events.AppendMode;

    public static async Task<NaiveMarten> StartAsync(string connectionString)
    {
        var dataSource = NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 200 }.ConnectionString);
        var store = DocumentStore.For(o =>
        {
            o.Connection(dataSource);
            o.DatabaseSchemaName = Schema;
            o.Events.StreamIdentity = StreamIdentity.AsString;
            o.Events.AddEventType<BenchStanceTaken>();
            o.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        dataSource.Clear(); // the schema's connections close now, not inside the first round's count
        return new NaiveMarten(dataSource, store);
    }

    /// <summary>One call of the scenario: one event, one session, one <c>SaveChangesAsync</c>.</summary>
    public async Task AppendOneAsync(string stream, BenchStanceTaken data)
    {
        await using var session = Store.LightweightSession();
        session.Events.Append(stream, data);
        await session.SaveChangesAsync();
    }

    /// <summary>Closes the pool's idle connections, so that their backends exit and report their counts.</summary>
    public void CloseIdleConnections() => _dataSource.Clear();

    public async ValueTask DisposeAsync()
    {
        Store.Dispose();
        await _dataSource.DisposeAsync();
    }
}
