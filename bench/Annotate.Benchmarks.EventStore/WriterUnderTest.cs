using Annotate.EventStore;
using Marten;
using Npgsql;

namespace Annotate.Benchmarks.EventStore;

/// <summary>
/// Our store's writer as the benchmark drives it: everything that depends on the store's API is in this file, so
/// that a change of that API (how the store is built, what an event to append carries) is made here and nowhere else.
/// </summary>
internal static class WriterUnderTest
{
    public const string Schema = "bench_writer";

    private static StoreOptions MartenOptions(NpgsqlDataSource dataSource)
    {
        var options = new StoreOptions();
        options.Connection(dataSource);
        MartenConventions.Apply(options, Schema);
        options.Events.MapEventType<BenchStanceTaken>("bench-stance-taken.v1");
        return options;
    }

    /// <summary>Creates the store's schema (Marten's tables and ours) in the database of <paramref name="connectionString"/>.</summary>
    public static async Task PrepareAsync(string connectionString)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        using var documents = new DocumentStore(MartenOptions(dataSource));
        await documents.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
    }

    /// <summary>A store over a pool of its own, closed again when it is disposed (one per round).</summary>
    public static OpenedWriter Open(string connectionString)
    {
        // Room for the 64 appenders and the store's own connections.
        var dataSource = NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 200 }.ConnectionString);
        var documents = new DocumentStore(MartenOptions(dataSource));
        var store = new MartenEventStore(new EventStoreOptions { Documents = documents, DataSource = dataSource, Schema = Schema });
        return new OpenedWriter(dataSource, documents, store);
    }

    /// <summary>One call of the scenario: <paramref name="data"/> appended as one event to <paramref name="stream"/>.</summary>
    public static Task AppendOneAsync(OpenedWriter writer, string stream, BenchStanceTaken data) =>
        writer.Store.AppendAsync(stream, ExpectedVersion.Any, [new EventData(Guid.NewGuid(), data)]);
}

/// <summary>The store with what it was built on, disposed together.</summary>
internal sealed class OpenedWriter(NpgsqlDataSource dataSource, DocumentStore documents, MartenEventStore store) : IAsyncDisposable
{
    public MartenEventStore Store { get; } = store;

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        documents.Dispose();
        await dataSource.DisposeAsync();
    }
}
