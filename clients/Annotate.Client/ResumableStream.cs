using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;

namespace Annotate.Client;

/// <summary>
/// Where a resumable stream stands, and which items a re-opened stream must drop. Implementations hold the whole
/// bookkeeping of "no gap, no duplicate"; <see cref="ResumableStream"/> only reopens.
/// </summary>
public interface IResumeCursor<in T>
{
    /// <summary>Records <paramref name="item"/>; false when it was already delivered and must be dropped.</summary>
    bool Accept(T item);

    /// <summary>The position to resume after (0 before anything was seen).</summary>
    ulong ResumeAfter { get; }
}

/// <summary>
/// History events are gap-free and ordered by global position: resume after the last position delivered and drop
/// anything at or below it (a server may replay the boundary). Caught-up markers always pass.
/// </summary>
public sealed class EventCursor(ulong afterPosition) : IResumeCursor<SubscribeResponse>
{
    public ulong ResumeAfter { get; private set; } = afterPosition;

    public bool Accept(SubscribeResponse item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.ItemCase != SubscribeResponse.ItemOneofCase.Event) return true;
        if (item.Event.Position <= ResumeAfter) return false;
        ResumeAfter = item.Event.Position;
        return true;
    }
}

/// <summary>
/// WatchArticle sends every current view again when it is reopened: a view passes only when it reflects a later
/// position than the last one delivered for its claim, so a reconnect shows each change once and misses none (the
/// re-sent current view holds every change made while disconnected). Caught-up markers always pass.
/// </summary>
public sealed class ViewCursor : IResumeCursor<WatchArticleResponse>
{
    private readonly Dictionary<string, ulong> _lastByClaim = new(StringComparer.Ordinal);

    public ulong ResumeAfter { get; private set; }

    public bool Accept(WatchArticleResponse item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.UpdateCase != WatchArticleResponse.UpdateOneofCase.View) return true;
        var view = item.View;
        if (_lastByClaim.TryGetValue(view.ClaimId, out var last) && view.LastPosition <= last) return false;
        _lastByClaim[view.ClaimId] = view.LastPosition;
        ResumeAfter = Math.Max(ResumeAfter, view.LastPosition);
        return true;
    }
}

/// <summary>Reopens a server stream after a dropped connection, from where its cursor stands.</summary>
public static class ResumableStream
{
    /// <summary>
    /// Statuses that end a stream for good: the request itself is wrong or not allowed, so reopening cannot help.
    /// Everything else (UNAVAILABLE, a reset stream, a server shutting down) is treated as a dropped connection.
    /// </summary>
    public static bool IsPermanent(StatusCode code) => code is StatusCode.InvalidArgument or StatusCode.NotFound
        or StatusCode.AlreadyExists or StatusCode.PermissionDenied or StatusCode.FailedPrecondition or StatusCode.OutOfRange
        or StatusCode.Unimplemented or StatusCode.Unauthenticated;

    /// <summary>
    /// Items of <paramref name="open"/>(resume position), reopened after each transient failure with the cursor's
    /// position, with the cursor's duplicates dropped. Waits between reopenings follow <paramref name="backoff"/>
    /// (its attempt count restarts once a reopened stream delivers an item); <paramref name="backoff"/>'s
    /// MaxAttempts bounds consecutive failures. A stream that ends normally ends the enumeration. <paramref name="onReconnect"/>
    /// is told before each wait (e.g. to show "reconnecting").
    /// </summary>
    public static async IAsyncEnumerable<T> ReadAsync<T>(
        Func<ulong, CancellationToken, IAsyncEnumerable<T>> open,
        IResumeCursor<T> cursor,
        RetryPolicy backoff,
        Func<TimeSpan, CancellationToken, Task> delay,
        [EnumeratorCancellation] CancellationToken cancellationToken = default,
        Action<RetryNotice>? onReconnect = null)
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentNullException.ThrowIfNull(cursor);
        ArgumentNullException.ThrowIfNull(backoff);
        ArgumentNullException.ThrowIfNull(delay);
        var failures = 0;
        while (true)
        {
            await using var items = open(cursor.ResumeAfter, cancellationToken).GetAsyncEnumerator(cancellationToken);
            RpcException? failure = null;
            while (true)
            {
                bool more;
                try
                {
                    more = await items.MoveNextAsync().ConfigureAwait(false);
                }
                catch (RpcException e) when (!cancellationToken.IsCancellationRequested && !IsPermanent(e.StatusCode))
                {
                    failure = e;
                    break;
                }
                if (!more) yield break;
                failures = 0;
                if (cursor.Accept(items.Current)) yield return items.Current;
            }
            failures++;
            // The backoff's delays are for UNAVAILABLE; any transient failure of a stream waits the same way.
            var wait = backoff.NextDelay(failures, StatusCode.Unavailable, Random.Shared.NextDouble());
            if (wait is null) throw failure;
            onReconnect?.Invoke(new RetryNotice(failures, backoff.MaxAttempts, wait.Value, failure));
            await delay(wait.Value, cancellationToken).ConfigureAwait(false);
        }
    }
}
