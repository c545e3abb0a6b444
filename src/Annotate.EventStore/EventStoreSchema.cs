using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Annotate.EventStore;

/// <summary>
/// Versioned SQL migrations. Each run takes a transaction-scoped advisory lock keyed by the schema name,
/// so replicas starting together apply each migration exactly once; the DDL and the record of it commit together.
/// </summary>
public static class EventStoreSchema
{
    /// <summary>Ordered migrations; never edit a released one, append a new one. "{schema}" is the quoted schema name.</summary>
    private static readonly (int Version, string Sql)[] Migrations =
    [
        (1, """
            -- The head row is the append lock and the tip of the chain: every append transaction locks it
            -- (SELECT ... FOR UPDATE) before taking positions, and holds it until commit, so positions
            -- commit in order and a reader of "position > N" can never miss a late lower position.
            CREATE TABLE {schema}.head (
                id              int PRIMARY KEY CHECK (id = 1),
                last_position   bigint NOT NULL,
                last_hash       bytea NOT NULL,
                last_recorded_at timestamptz NOT NULL
            );
            INSERT INTO {schema}.head VALUES (1, 0, decode(repeat('00', 32), 'hex'), '1970-01-01 00:00:00+00');

            CREATE TABLE {schema}.streams (
                stream_id   text PRIMARY KEY,
                version     bigint NOT NULL
            );

            -- data and metadata are json (not jsonb): json keeps the exact text, which the chain hash covers.
            CREATE TABLE {schema}.events (
                position        bigint PRIMARY KEY,
                stream_id       text NOT NULL,
                stream_version  bigint NOT NULL,
                event_id        uuid NOT NULL,
                type            text NOT NULL,
                data            json NOT NULL,
                metadata        json NOT NULL,
                article_id      text,
                recorded_at     timestamptz NOT NULL,
                hash            bytea NOT NULL,
                CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
                CONSTRAINT events_event_id_key UNIQUE (event_id)
            );
            CREATE INDEX events_type_idx ON {schema}.events (type, position);
            CREATE INDEX events_article_idx ON {schema}.events (article_id, position) WHERE article_id IS NOT NULL;
            CREATE INDEX events_recorded_at_idx ON {schema}.events (recorded_at);

            CREATE TABLE {schema}.checkpoints (
                name        text PRIMARY KEY,
                position    bigint NOT NULL,
                updated_at  timestamptz NOT NULL DEFAULT now()
            );

            -- View rows of projections run by ProjectionRunner: one jsonb document per (projection, key).
            CREATE TABLE {schema}.projection_documents (
                projection  text NOT NULL,
                key         text NOT NULL,
                document    jsonb NOT NULL,
                position    bigint NOT NULL,
                PRIMARY KEY (projection, key)
            );
            """),
    ];

    /// <summary>The highest migration version this code knows.</summary>
    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>Applies the missing migrations; safe to call from several processes at once.</summary>
    public static async Task MigrateAsync(EventStoreOptions options, CancellationToken cancellationToken = default)
    {
        var (dataSource, owned) = options.OpenDataSource();
        try
        {
            await MigrateAsync(dataSource, options.ValidatedSchema(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (owned) await dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task MigrateAsync(NpgsqlDataSource dataSource, string schema, CancellationToken ct)
    {
        var quoted = "\"" + schema + "\"";
        await using var conn = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
        await using var tx = await conn.BeginTransactionAsync(ct).ConfigureAwait(false);
        await using (var cmd = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", conn, tx))
        {
            cmd.Parameters.AddWithValue(LockKey(schema));
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await using (var cmd = new NpgsqlCommand(
            $"CREATE SCHEMA IF NOT EXISTS {quoted}; CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations (version int PRIMARY KEY, " +
                $"applied_at timestamptz NOT NULL DEFAULT now())",
            conn, tx))
        {
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        var applied = new HashSet<int>();
        await using (var cmd = new NpgsqlCommand($"SELECT version FROM {quoted}.schema_migrations", conn, tx))
        await using (var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(ct).ConfigureAwait(false)) applied.Add(reader.GetInt32(0));
        }
        foreach (var (version, sql) in Migrations)
        {
            if (applied.Contains(version)) continue;
            await using var cmd = new NpgsqlCommand(sql.Replace("{schema}", quoted, StringComparison.Ordinal)
                + $"; INSERT INTO {quoted}.schema_migrations (version) VALUES ({version})", conn, tx);
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await tx.CommitAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Stable 64-bit advisory lock key per schema (string.GetHashCode is randomized per process).</summary>
    private static long LockKey(string schema) =>
        BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes("annotate-event-store-migrations:" + schema)), 0);
}
