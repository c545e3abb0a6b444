using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Annotate.EventStore.Live;

internal static class ReadAhead
{
    /// <summary>
    /// Enumerates <paramref name="source"/> on a task of its own, up to <paramref name="depth"/> items ahead of
    /// the consumer, so that reading the next item overlaps with work on the current one. Items arrive in
    /// order; an exception of the source arrives after the items before it; leaving the loop early stops
    /// the source.
    /// </summary>
    public static async IAsyncEnumerable<T> Prefetch<T>(IAsyncEnumerable<T> source, int depth,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(depth) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in source.WithCancellation(stop.Token).ConfigureAwait(false))
                    await channel.Writer.WriteAsync(item, stop.Token).ConfigureAwait(false);
                channel.Writer.TryComplete();
            }
            catch (Exception ex)
            {
                channel.Writer.TryComplete(ex);
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return item;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await producer.ConfigureAwait(false); // never throws: its exceptions complete the channel
        }
    }
}
