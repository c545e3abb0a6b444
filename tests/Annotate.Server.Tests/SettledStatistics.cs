using Npgsql;

namespace Annotate.Server.Tests;

/// <summary>
/// PostgreSQL's counters of a test database, read once they are complete: a backend reports its counts when it ends, so the
/// server under test must close its idle pooled connections quickly (see <see cref="LiveServer"/>).
/// </summary>
public static class SettledStatistics
{
    /// <summary>
    /// xact_commit + xact_rollback of the database once the server's pooled connections have closed. Its LISTEN connection
    /// stays; it runs no transaction after its first.
    /// </summary>
    public static async Task<long> TransactionsAsync(string connectionString)
    {
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        var admin = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Database = "postgres" };
        await using var connection = new NpgsqlConnection(admin.ToString());
        await connection.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (await ScalarAsync(connection,
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() "
                   + "AND coalesce(query, '') NOT LIKE 'LISTEN %'",
                   database) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the server's idle connections did not close within 90 s");
            // PostgreSQL signals no backend's exit to another session: its activity view is polled.
            await Task.Delay(100);
        }
        return await ScalarAsync(connection, "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", database);
    }

    /// <summary>Autovacuum would run transactions of its own in the test database at moments nobody chose.</summary>
    public static async Task DisableAutovacuumAsync(string connectionString)
    {
        var database = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(database.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            DO $$ DECLARE t record; BEGIN
              FOR t IN SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') LOOP
                EXECUTE format('ALTER TABLE %I.%I SET (autovacuum_enabled = false)', t.schemaname, t.tablename);
              END LOOP;
            END $$
            """, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql, string database)
    {
        await using var command = new NpgsqlCommand(sql, connection) { Parameters = { new() { Value = database } } };
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}
