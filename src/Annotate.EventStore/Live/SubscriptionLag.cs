using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Annotate.EventStore.Live;

/// <summary>
/// How far the live subscriptions of this process are behind: each subscription's position is the end of the last
/// batch its consumer took and asked past (so a consumer stuck sending a batch counts as behind it), and the lag is the
/// newest position any subscription has been given minus the position of the furthest behind. A subscription still
/// catching up with no other subscription ahead of it shows no lag: the measure is relative to what the process has
/// delivered, not a read of the head per scrape. Reported by <see cref="StoreTelemetry"/>.
/// </summary>
internal static class SubscriptionLag
{
    private sealed class Tracked(long through)
    {
        public long Through = through;
    }

    private static readonly ConcurrentDictionary<Tracked, byte> Live = new();
    private static long NewestPosition;

    public static async IAsyncEnumerable<SubscriptionBatch> Track(IAsyncEnumerable<SubscriptionBatch> batches, long from,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var me = new Tracked(from);
        Live.TryAdd(me, 0);
        try
        {
            await foreach (var batch in batches.WithCancellation(ct).ConfigureAwait(false))
            {
                for (var newest = Volatile.Read(ref NewestPosition); batch.Through > newest; newest = Volatile.Read(ref NewestPosition))
                    if (Interlocked.CompareExchange(ref NewestPosition, batch.Through, newest) == newest) break;
                yield return batch;
                Volatile.Write(ref me.Through, batch.Through);
            }
        }
        finally
        {
            Live.TryRemove(me, out _);
        }
    }

    /// <summary>Positions the furthest-behind live subscription is behind the newest position given to any; 0 with none.</summary>
    public static long Max()
    {
        var newest = Volatile.Read(ref NewestPosition);
        var lag = 0L;
        foreach (var tracked in Live.Keys) lag = Math.Max(lag, newest - Volatile.Read(ref tracked.Through));
        return lag;
    }

    public static int Count => Live.Count;
}
