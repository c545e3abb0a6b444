using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Annotate.EventStore.Live;

/// <summary>
/// One wake-up source per store instance, fanned out in memory. Inputs: batches this process committed
/// (handed over by the writer, no query needed; <see cref="ILocalCommits"/>) and NOTIFY wake-ups from other instances,
/// received on ONE LISTEN connection (the NOTIFY of a batch of this process's writer is not read back: the batch itself
/// follows, or word that it failed, which makes the hub read up to the head). The hub publishes contiguous runs of the
/// global order [First..Last] to every subscriber's bounded channel; a full channel drops the run and marks the subscriber,
/// which then reads the missing range from the table itself. Publishing never waits for a subscriber.
/// </summary>
internal sealed partial class SubscriptionHub(MartenEventStore store, ILogger logger) : ILocalCommits, IAsyncDisposable
{
    private readonly Channel<HubInput> _inputs = Channel.CreateUnbounded<HubInput>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private Subscriber[] _subscribers = [];
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _started;
    private volatile Task? _loop;
    private Task? _listener;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SharedPages _pages = new();

    private sealed record HubInput(IReadOnlyList<RecordedEvent>? Committed, long WakePosition);

    /// <summary>
    /// A contiguous run of the global order: every committed event from position Events[0].Position to
    /// Events[^1].Position. Positions of batches that were rolled back are never used, so the positions in a run
    /// can have holes: an event is found by its position, never by its distance from the first.
    /// </summary>
    private sealed record Run(IReadOnlyList<RecordedEvent> Events)
    {
        private SubscriptionMessage.Event[]? _messages;

        public long First => Events[0].Position;
        public long Last => Events[^1].Position;

        /// <summary>The index of the first event past <paramref name="position"/> (Events.Count when none is).</summary>
        public int IndexAfter(long position)
        {
            int lo = 0, hi = Events.Count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (Events[mid].Position <= position) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        /// <summary>The run as subscription messages, made once and shared by every subscriber (they are immutable).</summary>
        public SubscriptionMessage.Event[] Messages
        {
            get
            {
                if (Volatile.Read(ref _messages) is { } made) return made;
                var messages = new SubscriptionMessage.Event[Events.Count];
                for (var i = 0; i < messages.Length; i++) messages[i] = new SubscriptionMessage.Event(Events[i]);
                return Interlocked.CompareExchange(ref _messages, messages, null) ?? messages;
            }
        }
    }

    private sealed class Subscriber(int capacity)
    {
        public readonly Channel<Run> Channel = System.Threading.Channels.Channel.CreateBounded<Run>(
            new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        /// <summary>Set when a run was dropped because the channel was full.</summary>
        public volatile bool Missed;
    }

    /// <summary>The last position of the batch this process's writer is committing (0: none yet).</summary>
    private long _committing;

    public void Committing(long through) => Volatile.Write(ref _committing, through);

    public void Committed(List<RecordedEvent> events)
    {
        if (Volatile.Read(ref _started) is not null) _inputs.Writer.TryWrite(new HubInput(events, 0));
    }

    public void Abandoned()
    {
        if (Volatile.Read(ref _started) is not null) _inputs.Writer.TryWrite(new HubInput(null, long.MaxValue));
    }

    public async IAsyncEnumerable<SubscriptionBatch> SubscribeAsync(long fromPositionExclusive, EventFilter? filter, int pageSize,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var sub = new Subscriber(store.Options.SubscriberBuffer);
        Register(sub);
        try
        {
            await EnsureStartedAsync().WaitAsync(ct).ConfigureAwait(false);
            var pos = fromPositionExclusive;
            while (true)
            {
                // Catch-up: read the table until we have reached its head. With a copy to read from, the head that counts
                // is the primary's (read with the first page): a copy's head is only how far that copy has replayed.
                sub.Missed = false;
                var target = -1L;
                // Where this round must reach: every commit the hub has not handed this subscriber (those before it registered,
                // or the gap that ended the live part) was committed before this point. A shared page may have been read before
                // it (its events are as good as any, its head may be short of it), so with shared pages the round reads the
                // head itself; otherwise each page's read brings the head.
                if (SharesPages(filter))
                    target = await ReadAgainWhenLostAsync(() => store.GetHeadPositionAsync(ct), ct).ConfigureAwait(false);
                while (true)
                {
                    var (events, through, head) =
                        await ReadCatchUpPageAsync(pos, target, filter, pageSize, ct).ConfigureAwait(false);
                    if (through > pos) yield return new SubscriptionBatch(events, through, false);
                    pos = Math.Max(pos, through);
                    target = Math.Max(target, head);
                    if (pos >= target) break;
                }
                yield return new SubscriptionBatch([], pos, true);

                // Live: runs from the hub, as long as they continue exactly where we are.
                while (true)
                {
                    if (sub.Channel.Reader.TryRead(out var run))
                    {
                        if (run.Last <= pos) continue;            // already read from the table
                        if (run.First > pos + 1) break;           // a gap: fill it from the table
                        var start = run.IndexAfter(pos);
                        pos = run.Last;
                        if (start == 0 && filter is null)
                        {
                            yield return new SubscriptionBatch(run.Events, pos, false) { Messages = run.Messages };
                            continue;
                        }
                        var selected = new List<RecordedEvent>(run.Events.Count - start);
                        for (var i = start; i < run.Events.Count; i++)
                            if (filter is null || filter.Matches(run.Events[i])) selected.Add(run.Events[i]);
                        yield return new SubscriptionBatch(selected, pos, false);
                        continue;
                    }
                    if (sub.Missed) break;                        // runs were dropped while we were slow
                    if (!await sub.Channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                        throw new ObjectDisposedException(nameof(MartenEventStore), "The event store was disposed while subscribed.");
                }
            }
        }
        finally
        {
            Unregister(sub);
        }
    }

    /// <summary>
    /// Starts the hub once: LISTEN first, then read the head H0, then publish everything after H0. A subscriber
    /// registers and awaits this before its first catch-up read, so that read reaches at least H0 and every
    /// later commit reaches it through the hub (as a local run or as a NOTIFY wake-up read from the table).
    /// </summary>
    private Task EnsureStartedAsync()
    {
        lock (_gate)
        {
            if (_started is { IsFaulted: false, IsCanceled: false }) return _started;
            return _started = StartAsync();
        }
    }

    private async Task StartAsync()
    {
        lock (_gate) _listener ??= Task.Run(ListenLoopAsync);
        await _listening.Task.WaitAsync(_stopping.Token).ConfigureAwait(false);
        var head = await store.GetHeadPositionAsync(_stopping.Token).ConfigureAwait(false);
        lock (_gate) _loop ??= Task.Run(() => PublishLoopAsync(head));
    }

    private void Register(Subscriber sub)
    {
        lock (_gate) _subscribers = [.. _subscribers, sub];
    }

    private void Unregister(Subscriber sub)
    {
        lock (_gate) _subscribers = Array.FindAll(_subscribers, s => s != sub);
    }

    private void Publish(Run run)
    {
        foreach (var sub in Volatile.Read(ref _subscribers))
            if (!sub.Channel.Writer.TryWrite(run)) sub.Missed = true;
    }

    private async Task PublishLoopAsync(long published)
    {
        var stopping = _stopping.Token;
        var reader = _inputs.Reader;
        var target = published;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (target <= published && !await reader.WaitToReadAsync(stopping).ConfigureAwait(false)) return;
                while (reader.TryRead(out var input))
                {
                    if (input.Committed is { } run)
                    {
                        if (run[0].Position == published + 1 && target <= published)
                        {
                            Publish(new Run(run));
                            published = run[^1].Position;
                        }
                        else
                        {
                            target = Math.Max(target, run[^1].Position);
                        }
                    }
                    else
                    {
                        // A NOTIFY of the local writer's batch: the batch follows as a local run (or Abandoned reads to the head).
                        // Another instance's position below it is read with the gap the local run then finds.
                        if (input.WakePosition <= Volatile.Read(ref _committing)) continue;
                        target = Math.Max(target, input.WakePosition);
                    }
                }
                // Another instance (or a run we could not chain) moved the head: read the new events once, for everyone.
                while (target > published)
                {
                    // "Up to the head" names the primary's head: a copy's could be behind it.
                    if (target == long.MaxValue && store.CatchUpReads is not null)
                        target = Math.Max(published, await store.GetHeadPositionAsync(stopping).ConfigureAwait(false));
                    if (target <= published) break;
                    if (Volatile.Read(ref _subscribers).Length == 0)
                    {
                        // Nobody to publish to. Skipping ahead is safe only to a position already committed
                        // (a NOTIFY payload or a local run): a subscriber registering now reads at least that far.
                        if (target != long.MaxValue) published = target;
                        target = published;
                        break;
                    }
                    var (events, through, head) = await ReadPageFromAsync(published, target, null, store.Options.ReadPageSize, stopping)
                        .ConfigureAwait(false);
                    if (events.Count > 0) Publish(new Run(events));
                    // The page was read through `through`: positions there that hold no event were rolled back for good.
                    // A page can hold none at all (a rolled-back batch wider than a page) and still move on.
                    var progressed = through > published;
                    if (progressed) published = through;
                    if (!progressed || (target == long.MaxValue && published >= head)) target = published;
                }
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Keep the position and the target: the read is retried, nothing is skipped.
                LogHubError(logger, ex);
                try { await Task.Delay(TimeSpan.FromMilliseconds(500), stopping).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>The single LISTEN connection of this store instance; reconnects, and re-polls after each (re)connect.</summary>
    private async Task ListenLoopAsync()
    {
        var stopping = _stopping.Token;
        var delay = TimeSpan.FromMilliseconds(100);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var conn = await store.DataSource.OpenConnectionAsync(stopping).ConfigureAwait(false);
                conn.Notification += (_, e) =>
                {
                    if (long.TryParse(e.Payload, System.Globalization.CultureInfo.InvariantCulture, out var p))
                        _inputs.Writer.TryWrite(new HubInput(null, p));
                };
                await using (var cmd = new NpgsqlCommand($"LISTEN \"{store.Options.NotifyChannel}\"", conn))
                    await cmd.ExecuteNonQueryAsync(stopping).ConfigureAwait(false);
                // Anything committed while we were not listening is picked up by reading the table.
                _inputs.Writer.TryWrite(new HubInput(null, long.MaxValue));
                _listening.TrySetResult();
                delay = TimeSpan.FromMilliseconds(100);
                while (true) await conn.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return; // the store is stopping: a connection closed under us is expected, not worth a warning
            }
            catch (Exception ex)
            {
                LogListenError(logger, ex);
                try { await Task.Delay(delay, stopping).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                delay = TimeSpan.FromMilliseconds(Math.Min(5000, delay.TotalMilliseconds * 2));
            }
        }
    }

    /// <summary>
    /// A subscriber's catch-up page. Unfiltered pages read from the primary are shared with the subscribers reading the same
    /// page at the same time (<see cref="SharedPages"/>); such a read is the hub's, so one subscriber leaving does not cancel it.
    /// </summary>
    private Task<(List<RecordedEvent> Events, long Through, long Head)> ReadCatchUpPageAsync(long after, long target,
        EventFilter? filter, int pageSize, CancellationToken ct)
    {
        if (!SharesPages(filter)) return ReadPageAsync(after, target, filter, pageSize, ct);
        return _pages.ReadAsync(after, pageSize, () => ReadPageAsync(after, target, null, pageSize, _stopping.Token)).WaitAsync(ct);
    }

    /// <summary>Whether a catch-up with <paramref name="filter"/> takes shared pages: unfiltered, from the primary.</summary>
    private bool SharesPages(EventFilter? filter) => filter is null && store.CatchUpReads is null;

    /// <summary>A catch-up page (<see cref="ReadAgainWhenLostAsync{T}"/>).</summary>
    private Task<(List<RecordedEvent> Events, long Through, long Head)> ReadPageAsync(long after, long target, EventFilter? filter,
        int pageSize, CancellationToken ct) =>
        ReadAgainWhenLostAsync(() =>
        {
            StoreTelemetry.RecordCatchUpRead(store.Options.Schema);
            return ReadPageFromAsync(after, target, filter, pageSize, ct);
        }, ct);

    /// <summary>
    /// A read of a catch-up round (a page, the head it must reach), read again when its connection was lost (a pooled
    /// connection the database dropped, a restart): a subscriber resumes from its own position, so a lost read costs a
    /// retry, not the subscription. A few attempts; a database that stays away ends the subscription with the error.
    /// </summary>
    private async Task<T> ReadAgainWhenLostAsync<T>(Func<Task<T>> read, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read().ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < 5 && Failures.IsConnectionLoss(ex) && !ct.IsCancellationRequested)
            {
                LogReadRetry(logger, attempt, ex);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The page after <paramref name="after"/>, read where <see cref="MartenEventStore.CatchUpReads"/> sends it, towards
    /// <paramref name="target"/>, a position the primary has committed (negative: the primary's head, read here): from a
    /// copy that has replayed a page's worth or up to the target, else from the primary. A copy's page ends at the copy's
    /// head, so it never passes a position the copy has not replayed; a copy's page that did not advance is read again on
    /// the primary, so a reader short of the target always moves on. Head is at least the target: the reader reads on
    /// until it gets there, whatever the copy's head.
    /// </summary>
    private async Task<(List<RecordedEvent> Events, long Through, long Head)> ReadPageFromAsync(long after, long target,
        EventFilter? filter, int pageSize, CancellationToken ct)
    {
        if (store.CatchUpReads is not { } reads) return await store.ReadPageAsync(after, filter, pageSize, ct: ct).ConfigureAwait(false);
        if (target < 0) target = await store.GetHeadPositionAsync(ct).ConfigureAwait(false);
        if (target <= after) return ([], after, target); // nothing committed past the reader when the head was read
        var wanted = Math.Min(target, after + pageSize);
        var page = await reads.ReadAsync(wanted, source => source.ReadPageAsync(after, filter, pageSize, ct: ct), ct).ConfigureAwait(false);
        if (page.Through <= after) page = await store.ReadPageAsync(after, filter, pageSize, ct: ct).ConfigureAwait(false);
        return (page.Events, page.Through, Math.Max(page.Head, target));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _inputs.Writer.TryComplete();
        foreach (var sub in Volatile.Read(ref _subscribers)) sub.Channel.Writer.TryComplete();
        foreach (var t in new[] { _loop, _listener })
        {
            if (t is null) continue;
            try { await t.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscription hub failed to read new events; retrying")]
    private static partial void LogHubError(ILogger logger, Exception exception);

    [LoggerMessage(
        Level = LogLevel.Warning,
        Message = "A subscriber's catch-up read lost its connection (attempt {Attempt}); reading again")]
    private static partial void LogReadRetry(ILogger logger, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "LISTEN connection lost; reconnecting")]
    private static partial void LogListenError(ILogger logger, Exception exception);
}
