using Annotate.Testing;
using Npgsql;

namespace Annotate.EventStore.Tests;

public sealed class SchemaTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Replicas_migrating_at_once_apply_each_migration_exactly_once()
    {
        var schema = "m_" + Guid.NewGuid().ToString("N")[..10];
        var sources = Enumerable.Range(0, 6).Select(_ => NpgsqlDataSource.Create(db.ConnectionString)).ToList();
        try
        {
            await Task.WhenAll(
                sources.Select(ds =>
                    Task.Run(() => EventStoreSchema.MigrateAsync(new EventStoreOptions { DataSource = ds, Schema = schema }))));
            await EventStoreSchema.MigrateAsync(new EventStoreOptions { DataSource = sources[0], Schema = schema });

            await using var cmd = sources[0].CreateCommand($"SELECT count(*), max(version) FROM \"{schema}\".schema_migrations");
            await using var r = await cmd.ExecuteReaderAsync();
            await r.ReadAsync();
            Assert.Equal(EventStoreSchema.LatestVersion, r.GetInt64(0));
            Assert.Equal(EventStoreSchema.LatestVersion, r.GetInt32(1));
        }
        finally
        {
            foreach (var ds in sources) await ds.DisposeAsync();
        }
    }

    [Fact]
    public async Task Stores_in_different_schemas_of_one_database_are_independent()
    {
        await using var a = await TestStores.CreateAsync(db);
        await using var b = await TestStores.CreateAsync(db);
        var storeA = a.NewStore();
        var storeB = b.NewStore();
        await storeA.AppendAsync("s", ExpectedVersion.NoStream, TestStores.Events(3));
        var r = await storeB.AppendAsync("s", ExpectedVersion.NoStream, TestStores.Events(1));

        Assert.Equal(1, r.FirstPosition);
        Assert.Equal(3, await storeA.GetHeadPositionAsync());
        Assert.Equal(1, await storeB.GetHeadPositionAsync());
    }

    [Fact]
    public void A_schema_name_that_is_not_a_plain_identifier_is_refused()
    {
        Assert.Throws<ArgumentException>(() =>
            new PostgresEventStore(new EventStoreOptions { ConnectionString = db.ConnectionString, Schema = "x\"; DROP TABLE y; --" }));
    }
}
