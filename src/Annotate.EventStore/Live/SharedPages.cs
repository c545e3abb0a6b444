using System.Diagnostics;

namespace Annotate.EventStore.Live;

/// <summary>
/// Catch-up pages shared by the subscribers that read the same page at about the same time (hundreds of streams opened
/// together from one position): one query and one set of event objects, so one message per event as for live runs, instead of
/// one of each per subscriber. A subscriber takes only a page whose read began after its catch-up round did (after it
/// registered with the hub, or after the gap that sent it back to the table), so the page is one its own read could have
/// returned: it holds every commit the round must reach. A page is kept for a second after its read began, then read again by
/// whoever asks.
/// </summary>
internal sealed class SharedPages
{
    private static readonly long KeepTicks = Stopwatch.Frequency;

    private sealed record Entry(long Stamp, long StartedAt, Task<(List<RecordedEvent> Events, long Through, long Head)> Read);

    private readonly Lock _gate = new();
    private readonly Dictionary<(long After, int Size), Entry> _pages = [];
    private long _stamps;

    /// <summary>A point in the order of catch-up rounds and reads: a read stamped later than a round began after it.</summary>
    public long Stamp() => Interlocked.Increment(ref _stamps);

    /// <summary>The page of <paramref name="size"/> events after <paramref name="after"/>: one whose read began after
    /// <paramref name="since"/> if there is one, else read now by <paramref name="read"/> and offered to later readers.</summary>
    public Task<(List<RecordedEvent> Events, long Through, long Head)> ReadAsync(long after, int size, long since,
        Func<Task<(List<RecordedEvent> Events, long Through, long Head)>> read)
    {
        var now = Stopwatch.GetTimestamp();
        TaskCompletionSource<(List<RecordedEvent>, long, long)> mine;
        lock (_gate)
        {
            if (_pages.TryGetValue((after, size), out var kept) && kept.Stamp > since && now - kept.StartedAt < KeepTicks
                && !kept.Read.IsFaulted && !kept.Read.IsCanceled)
            {
                return kept.Read;
            }
            foreach (var (key, entry) in _pages.ToList())
            {
                if (now - entry.StartedAt >= KeepTicks) _pages.Remove(key);
            }
            mine = new TaskCompletionSource<(List<RecordedEvent>, long, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
            // Stamped under the lock, before the query is sent: the read begins after every round stamped before it.
            _pages[(after, size)] = new Entry(Stamp(), now, mine.Task);
        }
        _ = CompleteAsync(mine, read);
        return mine.Task;
    }

    private static async Task CompleteAsync(TaskCompletionSource<(List<RecordedEvent>, long, long)> page,
        Func<Task<(List<RecordedEvent> Events, long Through, long Head)>> read)
    {
        try
        {
            page.SetResult(await read().ConfigureAwait(false));
        }
        catch (OperationCanceledException e)
        {
            page.SetCanceled(e.CancellationToken);
        }
        catch (Exception e)
        {
            page.SetException(e);
        }
    }
}
