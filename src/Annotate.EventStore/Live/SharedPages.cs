using System.Diagnostics;

namespace Annotate.EventStore.Live;

/// <summary>
/// Catch-up pages shared by the subscribers that read the same page within a second (hundreds of streams opened one after
/// another from one position): one query and one set of event objects, so one message per event as for live runs, instead of
/// one of each per subscriber (each page of the seed articles holds their texts). The events of a page are the log's, whoever
/// read them and when: every position up to the head its read saw was settled. What a page's read cannot tell a later
/// subscriber is how far it must read: that subscriber reads the head itself when its catch-up round begins
/// (<see cref="SubscriptionHub"/>) and reads on past a page that ends short of it. A page is kept for a second after its read
/// began, then read again by whoever asks.
/// </summary>
internal sealed class SharedPages
{
    private static readonly long KeepTicks = Stopwatch.Frequency;

    private sealed record Entry(long StartedAt, Task<(List<RecordedEvent> Events, long Through, long Head)> Read);

    private readonly Lock _gate = new();
    private readonly Dictionary<(long After, int Size), Entry> _pages = [];

    /// <summary>The page of <paramref name="size"/> events after <paramref name="after"/>: one whose read began within the last
    /// second if there is one, else read now by <paramref name="read"/> and offered to later readers.</summary>
    public Task<(List<RecordedEvent> Events, long Through, long Head)> ReadAsync(long after, int size,
        Func<Task<(List<RecordedEvent> Events, long Through, long Head)>> read)
    {
        var now = Stopwatch.GetTimestamp();
        TaskCompletionSource<(List<RecordedEvent>, long, long)> mine;
        lock (_gate)
        {
            if (_pages.TryGetValue((after, size), out var kept) && now - kept.StartedAt < KeepTicks
                && !kept.Read.IsFaulted && !kept.Read.IsCanceled)
            {
                return kept.Read;
            }
            foreach (var (key, entry) in _pages.ToList())
            {
                if (now - entry.StartedAt >= KeepTicks) _pages.Remove(key);
            }
            mine = new TaskCompletionSource<(List<RecordedEvent>, long, long)>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pages[(after, size)] = new Entry(now, mine.Task);
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
