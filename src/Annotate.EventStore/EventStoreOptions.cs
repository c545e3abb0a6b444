using System.Text.RegularExpressions;
using Npgsql;

namespace Annotate.EventStore;

/// <summary>Where the store lives. Give either a connection string or a data source (the store then does not own it).</summary>
public sealed partial class EventStoreOptions
{
    public string? ConnectionString { get; init; }
    public NpgsqlDataSource? DataSource { get; init; }

    /// <summary>PostgreSQL schema holding the store's tables; lower-case identifier.</summary>
    public string Schema { get; init; } = "annotate";

    /// <summary>Upper bound of events one group-commit transaction takes from the queue.</summary>
    public int MaxBatchEvents { get; init; } = 2000;

    /// <summary>
    /// When fewer appends are queued than the previous batch held, the writer waits up to this long for the
    /// callers it has just answered to come back, so that closed-loop callers share one commit instead of
    /// splitting into alternating half-size batches. Zero disables the wait.
    /// </summary>
    public TimeSpan GatherDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Rows per query for catch-up reads.</summary>
    public int ReadPageSize { get; init; } = 5000;

    /// <summary>Live batches buffered per subscriber before it falls back to reading the table.</summary>
    public int SubscriberBuffer { get; init; } = 512;

    internal string QuotedSchema => "\"" + ValidatedSchema() + "\"";

    /// <summary>NOTIFY channel for this schema (one per schema, so test schemas do not wake each other).</summary>
    internal string NotifyChannel => "annotate_events_" + ValidatedSchema();

    internal string ValidatedSchema() =>
        SchemaName().IsMatch(Schema) ? Schema : throw new ArgumentException($"Schema name '{Schema}' must match [a-z_][a-z0-9_]{{0,40}}.");

    internal (NpgsqlDataSource DataSource, bool Owned) OpenDataSource()
    {
        if (DataSource is not null)
            return (DataSource, false);
        if (string.IsNullOrEmpty(ConnectionString))
            throw new ArgumentException("EventStoreOptions needs a ConnectionString or a DataSource.");
        return (NpgsqlDataSource.Create(ConnectionString), true);
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,40}$")]
    private static partial Regex SchemaName();
}
