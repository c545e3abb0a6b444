using Annotate.Testing;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Annotate.EventStore.Tests;

public sealed class SchemaTests(PostgresDatabase db) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task Three_replicas_starting_at_once_on_an_empty_schema_apply_marten_s_schema_under_its_lock_and_can_append()
    {
        var schema = "m_" + Guid.NewGuid().ToString("N")[..10];
        // Each "replica" is a host configured as the server's: Marten's options with the store's conventions, and the
        // schema applied by ApplyAllDatabaseChangesOnStartup (which holds Marten's advisory lock while it migrates).
        var sources = Enumerable.Range(0, 3).Select(i => NpgsqlDataSource.Create(
            new NpgsqlConnectionStringBuilder(db.ConnectionString) { ApplicationName = $"migrate-{i}" }.ConnectionString)).ToList();
        var hosts = sources.Select(ds =>
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Services.AddMarten(TestStores.Options(ds, schema)).ApplyAllDatabaseChangesOnStartup();
            return builder.Build();
        }).ToList();
        try
        {
            await Task.WhenAll(hosts.Select(h => Task.Run(() => h.StartAsync())));

            var stores = hosts.Select((h, i) => new MartenEventStore(new EventStoreOptions
            {
                Documents = h.Services.GetRequiredService<IDocumentStore>(),
                DataSource = sources[i],
                Schema = schema,
            })).ToList();
            try
            {
                var results = await Task.WhenAll(
                    stores.Select((s, i) => s.AppendAsync($"s-{i}", ExpectedVersion.NoStream, TestStores.Events(2))));
                Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i),
                    results.SelectMany(r => new[] { r.FirstPosition, r.LastPosition }).Order());
                Assert.True((await stores[2].VerifyAsync()).IsIntact);
            }
            finally
            {
                foreach (var s in stores) await s.DisposeAsync();
            }

            // Every table is there once, ours (declared through Marten's schema objects) included.
            await using var cmd = sources[0].CreateCommand(
                "SELECT array_agg(table_name::text ORDER BY table_name) FROM information_schema.tables WHERE table_schema = $1 AND " +
                    "table_name = ANY($2)");
            cmd.Parameters.AddWithValue(schema);
            cmd.Parameters.AddWithValue(new[] { "mt_events", "mt_streams", "mt_doc_append_record", "chain_links", "chain_head" });
            Assert.Equal(
                ["chain_head", "chain_links", "mt_doc_append_record", "mt_events", "mt_streams"],
                (string[])(await cmd.ExecuteScalarAsync())!);
        }
        finally
        {
            foreach (var h in hosts)
            {
                await h.StopAsync();
                h.Dispose();
            }
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
    public async Task A_schema_name_that_is_not_a_plain_identifier_is_refused()
    {
        const string hostile = "x\"; DROP TABLE y; --";
        Assert.Throws<ArgumentException>(() => MartenConventions.Apply(new StoreOptions(), hostile));
        await using var dataSource = NpgsqlDataSource.Create(db.ConnectionString);
        using var documents = new DocumentStore(TestStores.Options(dataSource, "fine"));
        Assert.Throws<ArgumentException>(() =>
            new MartenEventStore(new EventStoreOptions { Documents = documents, DataSource = dataSource, Schema = hostile }));
    }
}
