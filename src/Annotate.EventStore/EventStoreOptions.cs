using System.Text.RegularExpressions;
using Marten;
using Npgsql;

namespace Annotate.EventStore;

/// <summary>
/// Where the store lives: a Marten document store configured with <see cref="MartenConventions.Apply"/> (it owns the
/// events, streams, documents and the schema) and the data source it was built on (the writer's lock and the audit
/// chain use it directly). The store does not own either.
/// </summary>
public sealed partial class EventStoreOptions
{
    public required IDocumentStore Documents { get; init; }
    public required NpgsqlDataSource DataSource { get; init; }

    /// <summary>PostgreSQL schema holding Marten's tables and ours; lower-case identifier (the one given to
    /// <see cref="MartenConventions.Apply"/>).</summary>
    public string Schema { get; init; } = "annotate";

    /// <summary>Upper bound of events one group-commit transaction takes from the queue.</summary>
    public int MaxBatchEvents { get; init; } = 2000;

    /// <summary>
    /// When fewer appends are queued than the previous batch held, the writer waits up to this long for the
    /// callers it has just answered to come back, so that closed-loop callers share one commit instead of
    /// splitting into alternating half-size batches. Zero disables the wait.
    /// </summary>
    public TimeSpan GatherDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Folded stream states the writer keeps for decisions (<see cref="Decision{TState}"/>), least recently used first
    /// out; a decision on a stream whose state was dropped folds the stream again from its start. Zero keeps none.
    /// </summary>
    public int DecisionStates { get; init; } = 20_000;

    /// <summary>Events per query for catch-up reads.</summary>
    public int ReadPageSize { get; init; } = 5000;

    /// <summary>
    /// Events per catch-up query of a subscription (<see cref="MartenEventStore.SubscribeAsync"/>). A subscriber keeps its page
    /// until its client has read it, so this bounds what each catching-up subscriber holds: hundreds of subscribers starting
    /// from position 0 together hold hundreds of pages at once, long enough for the garbage collector to promote them. Bulk
    /// readers (the hub, verify, export) read <see cref="ReadPageSize"/> events per query.
    /// </summary>
    public int SubscriberPageSize { get; init; } = DefaultSubscriberPageSize;

    /// <summary>The default of <see cref="SubscriberPageSize"/>.</summary>
    public const int DefaultSubscriberPageSize = 32;

    /// <summary>
    /// Stored type name of the host's erasure events (<see cref="Chain.Erasure"/>): the verifier accepts an event whose data was
    /// replaced only when an erasure event of this type lists its position with the digest of the replacement. Null: none.
    /// </summary>
    public string? ErasureEventType { get; init; }

    /// <summary>Live batches buffered per subscriber before it falls back to reading the table.</summary>
    public int SubscriberBuffer { get; init; } = 512;

    internal string QuotedSchema => "\"" + ValidatedSchema() + "\"";

    /// <summary>NOTIFY channel for this schema (one per schema, so test schemas do not wake each other).</summary>
    internal string NotifyChannel => NotifyChannelOf(ValidatedSchema());

    internal static string NotifyChannelOf(string schema) => "annotate_events_" + schema;

    internal string ValidatedSchema() => ValidSchema(Schema);

    internal static string ValidSchema(string schema) =>
        SchemaName().IsMatch(schema) ? schema : throw new ArgumentException($"Schema name '{schema}' must match [a-z_][a-z0-9_]{{0,40}}.");

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,40}$")]
    private static partial Regex SchemaName();
}
