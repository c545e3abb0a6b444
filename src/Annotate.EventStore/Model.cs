namespace Annotate.EventStore;

/// <summary>
/// What the caller believes about a stream before appending. Stream versions are 1-based:
/// the first event of a stream has version 1, so a stream that does not exist has version 0.
/// </summary>
public readonly record struct ExpectedVersion
{
    private ExpectedVersion(long value) => Value = value;

    /// <summary>-1 for <see cref="Any"/>, otherwise the exact current version (0 = no stream).</summary>
    public long Value { get; }

    /// <summary>Append whatever the stream's version is.</summary>
    public static ExpectedVersion Any { get; } = new(-1);

    /// <summary>The stream must not exist yet.</summary>
    public static ExpectedVersion NoStream { get; } = new(0);

    /// <summary>The stream's last event must have exactly this version (0 = no stream).</summary>
    public static ExpectedVersion Exact(long version) =>
        version >= 0 ? new(version) : throw new ArgumentOutOfRangeException(nameof(version));

    public bool IsAny => Value < 0;

    public override string ToString() =>
        Value switch
        {
            < 0 => "any",
            0 => "no stream",
            _ => Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
}

/// <summary>
/// Metadata of an event, stored in Marten's metadata columns: <see cref="Actor"/> as the user name, the correlation and
/// causation ids, and <see cref="Tag"/> as the "tag" header: an opaque label the host chooses (Annotate puts the article
/// id there) that reads and subscriptions can filter on.
/// </summary>
public sealed record EventMetadata(string? Actor = null, string? CorrelationId = null, string? CausationId = null, string? Tag = null)
{
    public static EventMetadata Empty { get; } = new();

    /// <summary>The header that carries <see cref="Tag"/>.</summary>
    public const string TagHeader = "tag";
}

/// <summary>An event to append: its id, the event object (a type mapped in Marten's event graph) and its metadata.</summary>
public sealed record EventData(Guid EventId, object Data, EventMetadata? Metadata = null);

/// <summary>An event as stored, with the audit chain's link for it.</summary>
public sealed class RecordedEvent(long position, string streamId, long streamVersion, Guid eventId, string type, object data,
    EventMetadata metadata, DateTime recordedAt, byte[] hash)
{
    public long Position { get; } = position;
    public string StreamId { get; } = streamId;
    public long StreamVersion { get; } = streamVersion;
    public Guid EventId { get; } = eventId;
    /// <summary>The stored event type name (Marten's event type name, e.g. "claim-opened.v1").</summary>
    public string Type { get; } = type;
    /// <summary>The event object, deserialized by Marten.</summary>
    public object Data { get; } = data;
    public EventMetadata Metadata { get; } = metadata;
    /// <summary>The writer's database clock (UTC, microsecond precision), non-decreasing in position order.</summary>
    public DateTime RecordedAt { get; } = recordedAt;
    /// <summary>The audit chain's link for this event (32 bytes).</summary>
    public byte[] Hash { get; } = hash;
    public string HashHex => Convert.ToHexStringLower(Hash);

    public override string ToString() => $"#{Position} {StreamId}@{StreamVersion} {Type}";
}

/// <summary>Outcome of an append; <see cref="ChainHash"/> is the receipt: the hex chain link of the last event.</summary>
public sealed record AppendResult(
    string StreamId,
    long NextExpectedVersion,
    long FirstPosition,
    long LastPosition,
    string ChainHash,
    DateTime RecordedAt,
    bool Deduplicated)
{
    public Receipt Receipt => new(LastPosition, ChainHash);
}

/// <summary>A position and the chain link the store returned for it; verification says whether it still holds.</summary>
public readonly record struct Receipt(long Position, string Hash);

/// <summary>Filter for reads and subscriptions. Empty members match everything.</summary>
public sealed record EventFilter(
    IReadOnlyCollection<string>? Types = null,
    string? StreamPrefix = null,
    string? Tag = null)
{
    public static EventFilter All { get; } = new();

    public bool IsEmpty => (Types is null || Types.Count == 0) && string.IsNullOrEmpty(StreamPrefix) && Tag is null;

    public bool Matches(RecordedEvent e) =>
        (Types is null || Types.Count == 0 || Types.Contains(e.Type))
        && (string.IsNullOrEmpty(StreamPrefix) || e.StreamId.StartsWith(StreamPrefix, StringComparison.Ordinal))
        && (Tag is null || e.Metadata.Tag == Tag);
}

/// <summary>The stream's current version differs from the expected one. Nothing of that append was written.</summary>
public sealed class WrongExpectedVersionException(string streamId, ExpectedVersion expected, long actual)
    : Exception($"Stream '{streamId}' is at version {actual}, expected {expected}.")
{
    public string StreamId { get; } = streamId;
    public ExpectedVersion Expected { get; } = expected;
    /// <summary>The stream's current version (0 = no stream).</summary>
    public long ActualVersion { get; } = actual;
}

/// <summary>
/// The idempotency key was already used for an append to another stream: this is not a retry of that append,
/// so it is refused rather than answered with the other append's result.
/// </summary>
public sealed class IdempotencyKeyConflictException(string streamId, string key, string otherStream)
    : Exception($"The idempotency key was used for an append to '{otherStream}', not to '{streamId}'.")
{
    public string StreamId { get; } = streamId;
    public string Key { get; } = key;
}

/// <summary>The first place where the stored chain does not hold.</summary>
public sealed record BrokenLink(long Position, string Reason, string? ExpectedHash, string? FoundHash);

/// <summary>Whether a receipt still holds: the event at its position exists and carries its link.</summary>
public sealed record ReceiptCheck(Receipt Receipt, bool Holds, string? FoundHash);

/// <summary>
/// Outcome of <see cref="IEventStore.VerifyAsync"/>. <see cref="ErasedPositions"/> are the events whose data was replaced by
/// a recorded erasure (their data now hashes to the digest the erasure recorded, not to the one the link covers);
/// <see cref="ErasurePositions"/> are the erasure events that erased them (see <see cref="Chain.Erasure"/>).
/// </summary>
public sealed record VerifyReport(long EventsChecked, long LastPosition, BrokenLink? FirstBrokenLink, IReadOnlyList<ReceiptCheck> Receipts,
    IReadOnlyList<long>? ErasedPositions = null, IReadOnlyList<long>? ErasurePositions = null)
{
    public bool IsIntact => FirstBrokenLink is null && Receipts.All(r => r.Holds);
}

/// <summary>
/// The connection to the database was lost while the append was being carried out (the database restarting, the network
/// failing): it may or may not have been committed. Retry it with the same idempotency key, which never appends twice.
/// </summary>
public sealed class AppendOutcomeUnknownException(Exception inner)
    : Exception("The connection to the database was lost during the append; it may or may not have been committed.", inner);
