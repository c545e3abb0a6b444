namespace Annotate.EventStore;

public enum ReadDirection { Forwards, Backwards }

/// <summary>One item of a subscription: an event, or a marker that the subscriber has caught up with the store.</summary>
public abstract record SubscriptionMessage
{
    private SubscriptionMessage() { }

    public sealed record Event(RecordedEvent Recorded) : SubscriptionMessage;

    /// <summary>Everything up to <paramref name="Position"/> has been delivered (filtered); live events follow.</summary>
    public sealed record CaughtUp(long Position) : SubscriptionMessage;
}

/// <summary>
/// An append-only event store with one global order. Positions start at 1 and have no gaps;
/// a reader of "position &gt; N" sees a prefix of the order and never misses a late lower position.
/// </summary>
public interface IEventStore : IAsyncDisposable
{
    /// <summary>
    /// Appends <paramref name="events"/> to <paramref name="streamId"/> atomically, grouped with concurrent appends
    /// into one transaction. An append with an <paramref name="idempotencyKey"/> that was already used for this stream
    /// returns the original result with <see cref="AppendResult.Deduplicated"/> set (used for another stream:
    /// <see cref="IdempotencyKeyConflictException"/>). Throws <see cref="WrongExpectedVersionException"/> on a
    /// version conflict. If the call is cancelled or fails with a connection error, the append may or may not have
    /// been committed: retry it with the same idempotency key.
    /// </summary>
    Task<AppendResult> AppendAsync(string streamId, ExpectedVersion expected, IReadOnlyList<EventData> events,
        string? idempotencyKey = null, CancellationToken cancellationToken = default);

    /// <summary>The result of the append made with <paramref name="idempotencyKey"/>, or null when none was.</summary>
    Task<AppendResult?> FindAppendAsync(string idempotencyKey, CancellationToken cancellationToken = default);

    /// <summary>Reads a stream from <paramref name="fromVersion"/> (inclusive; <see cref="long.MaxValue"/> = end when backwards).</summary>
    IAsyncEnumerable<RecordedEvent> ReadStreamAsync(string streamId, long fromVersion = 1,
        ReadDirection direction = ReadDirection.Forwards, long maxCount = long.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the global order after <paramref name="fromPositionExclusive"/>, filtered, up to a position and/or a
    /// recorded-at time (both inclusive). Paged internally: memory stays bounded however long the read.
    /// </summary>
    IAsyncEnumerable<RecordedEvent> ReadAllAsync(long fromPositionExclusive = 0, EventFilter? filter = null,
        long maxCount = long.MaxValue, long toPositionInclusive = long.MaxValue, DateTime? toRecordedAt = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Catch-up then live subscription: every matching event after <paramref name="fromPositionExclusive"/> exactly once,
    /// in position order, with a <see cref="SubscriptionMessage.CaughtUp"/> marker each time it reaches the live tail.
    /// Resume after a restart by passing the last position seen.
    /// </summary>
    IAsyncEnumerable<SubscriptionMessage> SubscribeAsync(long fromPositionExclusive = 0, EventFilter? filter = null,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// The same subscription a batch at a time, as the store reads and publishes them (catch-up pages; live, usually
    /// what one commit wrote): for consumers that handle many events at once, without per-event overhead.
    /// </summary>
    IAsyncEnumerable<SubscriptionBatch> SubscribeInBatchesAsync(long fromPositionExclusive = 0, EventFilter? filter = null,
        CancellationToken cancellationToken = default);

    /// <summary>The last committed position (0 when empty).</summary>
    Task<long> GetHeadPositionAsync(CancellationToken cancellationToken = default);

    /// <summary>The position of the last event recorded at or before <paramref name="time"/>, 0 when none was (one index lookup).</summary>
    Task<long> GetPositionAtAsync(DateTime time, CancellationToken cancellationToken = default);

    /// <summary>A stream's current version (0 when it does not exist).</summary>
    Task<long> GetStreamVersionAsync(string streamId, CancellationToken cancellationToken = default);

    /// <summary>Walks the audit chain in position order with constant memory; checks <paramref name="receipts"/> too.</summary>
    Task<VerifyReport> VerifyAsync(IEnumerable<Receipt>? receipts = null, IProgress<long>? progress = null,
        CancellationToken cancellationToken = default);
}
