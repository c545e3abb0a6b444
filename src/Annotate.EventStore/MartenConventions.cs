using JasperFx.Events;
using Marten;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Annotate.EventStore;

/// <summary>
/// How the store uses Marten. The host calls <see cref="Apply"/> on its <see cref="StoreOptions"/> (and adds its own
/// event types, serializer and projections); Marten then owns every table, ours included, and applies their
/// migrations at start-up under its own advisory lock.
/// Marten behaviours this store relies on (re-test them when upgrading Marten; docs/event-store.md lists the tests):
/// - In the Quick append modes Marten draws each event's number from its sequence (mt_events_sequence) in the order
///   the events were appended to the session; with <see cref="Order.GlobalOrder"/>'s lock held nobody else draws, so
///   the writer knows the numbers beforehand and sets them on the events (inline projections see them); it checks
///   every stored (position, id) pair before it commits.
/// - A session opened on an external transaction (<c>SessionOptions.ForTransaction</c>) does not commit it.
/// - Event timestamps set on <c>IEvent.Timestamp</c> before saving are stored as given.
/// </summary>
public static class MartenConventions
{
    public const string ChainLinksTable = "chain_links";
    public const string ChainHeadTable = "chain_head";

    public static void Apply(StoreOptions options, string schema)
    {
        EventStoreOptions.ValidSchema(schema);
        options.DatabaseSchemaName = schema;
        options.Events.DatabaseSchemaName = schema;
        options.Events.StreamIdentity = StreamIdentity.AsString;
        options.Events.AppendMode = EventAppendMode.QuickWithServerTimestamps;
        options.Events.MetadataConfig.CorrelationIdEnabled = true;
        options.Events.MetadataConfig.CausationIdEnabled = true;
        options.Events.MetadataConfig.HeadersEnabled = true;
        options.Events.MetadataConfig.UserNameEnabled = true;
        options.Schema.For<AppendRecord>().DocumentAlias("append_record");
        options.Storage.ExtendedSchemaObjects.Add(ChainLinks(schema));
        options.Storage.ExtendedSchemaObjects.Add(ChainHead(schema));
        options.Storage.ExtendedSchemaObjects.Add(Chain.ChainFunction.For(schema, EventStoreOptions.NotifyChannelOf(schema)));
    }

    /// <summary>
    /// One row per event the writer committed: the digests of its data and metadata (the canonical texts in
    /// docs/event-store.md) and its chain link. The digests, not the texts, enter the link, so erasing personal data
    /// from an event later leaves every link verifiable.
    /// </summary>
    private static Table ChainLinks(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, ChainLinksTable, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<long>("position").AsPrimaryKey();
        table.AddColumn("data_digest", "bytea").NotNull();
        table.AddColumn("metadata_digest", "bytea").NotNull();
        table.AddColumn("link", "bytea").NotNull();
        return table;
    }

    /// <summary>
    /// One row (id 1): the last position the writer committed, its link and time. It moves in the append's own
    /// transaction, so every position up to it is committed (or was rolled back for good): readers page up to it.
    /// </summary>
    private static Table ChainHead(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, ChainHeadTable, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<int>("id").AsPrimaryKey();
        table.AddColumn<long>("position").NotNull();
        table.AddColumn("link", "bytea").NotNull();
        table.AddColumn("recorded_at", "timestamptz").NotNull();
        return table;
    }
}

/// <summary>
/// What an append with an idempotency key wrote, stored as a Marten document keyed by that key in the append's own
/// transaction: a retry finds it and gets the original result instead of a second append.
/// </summary>
public sealed class AppendRecord
{
    public string Id { get; set; } = "";
    public string StreamId { get; set; } = "";
    public long StreamVersion { get; set; }
    public long FirstPosition { get; set; }
    public long LastPosition { get; set; }
    public DateTime RecordedAt { get; set; }

    internal AppendResult ToResult(string link) => new(StreamId, StreamVersion, FirstPosition, LastPosition, link, RecordedAt, true);
}
