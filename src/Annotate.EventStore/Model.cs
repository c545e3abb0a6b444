using System.Text;
using System.Text.Json;

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

/// <summary>Metadata carried by every event. <see cref="ArticleId"/> is indexed for filtered reads.</summary>
public sealed record EventMetadata(
    string? Actor = null,
    string? CorrelationId = null,
    string? CausationId = null,
    string? RequestId = null,
    string? ArticleId = null)
{
    public static EventMetadata Empty { get; } = new();

    /// <summary>
    /// The stored (and hashed) text: a JSON object with the fields in this fixed order, nulls omitted.
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (Actor is not null) w.WriteString("actor", Actor);
            if (CorrelationId is not null) w.WriteString("correlationId", CorrelationId);
            if (CausationId is not null) w.WriteString("causationId", CausationId);
            if (RequestId is not null) w.WriteString("requestId", RequestId);
            if (ArticleId is not null) w.WriteString("articleId", ArticleId);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static EventMetadata FromJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        string? Get(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        return new EventMetadata(Get("actor"), Get("correlationId"), Get("causationId"), Get("requestId"), Get("articleId"));
    }
}

/// <summary>An event to append. <paramref name="JsonData"/> is stored and hashed exactly as given.</summary>
public sealed record EventData(Guid EventId, string Type, string JsonData, EventMetadata? Metadata = null);

/// <summary>An event as stored. <see cref="Data"/> and <see cref="MetadataJson"/> are the exact texts the chain hash covers.</summary>
public sealed class RecordedEvent
{
    private EventMetadata? _metadata;

    public RecordedEvent(long position, string streamId, long streamVersion, Guid eventId, string type, string data,
        string metadataJson, DateTime recordedAt, byte[] hash)
    {
        Position = position;
        StreamId = streamId;
        StreamVersion = streamVersion;
        EventId = eventId;
        Type = type;
        Data = data;
        MetadataJson = metadataJson;
        RecordedAt = recordedAt;
        Hash = hash;
    }

    public long Position { get; }
    public string StreamId { get; }
    public long StreamVersion { get; }
    public Guid EventId { get; }
    public string Type { get; }
    public string Data { get; }
    public string MetadataJson { get; }
    /// <summary>Database clock (UTC, microsecond precision), non-decreasing in position order.</summary>
    public DateTime RecordedAt { get; }
    public byte[] Hash { get; }
    public string HashHex => Convert.ToHexStringLower(Hash);

    /// <summary>Parsed on first use: bulk readers that ignore metadata do not pay for parsing.</summary>
    public EventMetadata Metadata => _metadata ??= EventMetadata.FromJson(MetadataJson);

    public override string ToString() => $"#{Position} {StreamId}@{StreamVersion} {Type}";
}

/// <summary>Outcome of an append; <see cref="ChainHash"/> is the receipt: the hex chain hash of the last event.</summary>
public sealed record AppendResult(
    string StreamId,
    long NextExpectedVersion,
    long FirstPosition,
    long LastPosition,
    string ChainHash,
    bool Deduplicated)
{
    public Receipt Receipt => new(LastPosition, ChainHash);
}

/// <summary>A position and the chain hash the store returned for it; verification says whether it still holds.</summary>
public readonly record struct Receipt(long Position, string Hash);

/// <summary>Filter for reads and subscriptions. Empty members match everything.</summary>
public sealed record EventFilter(
    IReadOnlyCollection<string>? Types = null,
    string? StreamPrefix = null,
    string? ArticleId = null)
{
    public static EventFilter All { get; } = new();

    public bool IsEmpty => (Types is null || Types.Count == 0) && string.IsNullOrEmpty(StreamPrefix) && ArticleId is null;

    public bool Matches(RecordedEvent e) =>
        (Types is null || Types.Count == 0 || Types.Contains(e.Type))
        && (string.IsNullOrEmpty(StreamPrefix) || e.StreamId.StartsWith(StreamPrefix, StringComparison.Ordinal))
        && (ArticleId is null || e.Metadata.ArticleId == ArticleId);
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
/// Some, but not all, of the appended event ids already exist (or exist in another stream):
/// this is not a retry of an earlier append, so it is refused rather than half-deduplicated.
/// </summary>
public sealed class EventIdConflictException(string streamId, Guid eventId)
    : Exception($"Event {eventId} already exists, but the append to '{streamId}' is not a retry of the append that wrote it.")
{
    public string StreamId { get; } = streamId;
    public Guid EventId { get; } = eventId;
}
