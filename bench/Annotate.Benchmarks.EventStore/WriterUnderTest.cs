using System.Text.Json;
using Annotate.EventStore;
using Npgsql;

namespace Annotate.Benchmarks.EventStore;

/// <summary>
/// Our store's writer as the benchmark drives it: everything that depends on the store's API is in this file, so
/// that a change of that API (how the store is built, what an event to append carries) is made here and nowhere else.
/// </summary>
internal static class WriterUnderTest
{
    public const string Schema = "bench_writer";

    /// <summary>Creates the store's schema in the database of <paramref name="connectionString"/> (once, before any round).</summary>
    public static Task PrepareAsync(string connectionString) =>
        EventStoreSchema.MigrateAsync(new EventStoreOptions { ConnectionString = connectionString, Schema = Schema });

    /// <summary>A store over a pool of its own, closed again when the store is disposed (one per round).</summary>
    public static IEventStore Open(string connectionString) =>
        new PostgresEventStore(
            new EventStoreOptions
            {
                // Room for the 64 appenders and the store's own connections.
                ConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 200 }.ConnectionString,
                Schema = Schema,
            });

    /// <summary>One call of the scenario: <paramref name="data"/> appended as one event to <paramref name="stream"/>.</summary>
    public static Task AppendOneAsync(IEventStore store, string stream, BenchStanceTaken data) =>
        store.AppendAsync(
            stream,
            ExpectedVersion.Any,
            [new EventData(Guid.NewGuid(), "bench-stance-taken.v1", JsonSerializer.Serialize(data))]);
}
