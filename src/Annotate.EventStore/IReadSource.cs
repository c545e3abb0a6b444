namespace Annotate.EventStore;

/// <summary>
/// Where reads that may come from a copy of the database go: the host's choice, per read, between a read view of a
/// copy such as a streaming replica (<see cref="MartenEventStore.ReadingFrom"/>) and the store itself on the primary.
/// The live hub reads its pages through it (<see cref="MartenEventStore.CatchUpReads"/>): a subscriber's catch-up and
/// the reads after a wake-up, while the wake-up itself (LISTEN/NOTIFY and this process's commits) stays on the primary.
/// </summary>
/// <remarks>
/// The hub does not rely on the promise for its order: a page read from a copy is bounded by the copy's own head, and
/// the hub reads on until the position the primary announced, falling back to the primary for a page a copy did not
/// advance. A copy that keeps the promise only saves the primary the reads.
/// </remarks>
public interface IReadSource
{
    /// <summary>
    /// Runs <paramref name="read"/> on a store that has every event up to <paramref name="atLeast"/>: a copy's read view
    /// when the copy has replayed that far (waiting a bounded time for it), else the primary. A copy that fails under
    /// the read (stopped, unreachable) has the read run again on the primary.
    /// </summary>
    Task<T> ReadAsync<T>(long atLeast, Func<MartenEventStore, Task<T>> read, CancellationToken ct);
}
