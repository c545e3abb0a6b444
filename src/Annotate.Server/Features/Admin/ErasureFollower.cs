using System.Diagnostics;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.EventStore.Chain;
using Annotate.Server.Infrastructure;

namespace Annotate.Server.Features.Admin;

/// <summary>
/// Makes every server process forget what it kept in memory of an erased analyst's texts, whichever replica erased
/// them. A process keeps folded decision states (the writer's, <see cref="MartenEventStore.ForgetKeptStates"/>) and
/// facts (<see cref="Facts"/>) built from event data; <see cref="EraseAnalyst"/> replaces that data in the log. This
/// service reads the log's new erasure events once a second and, for each <see cref="AnalystErased"/>, drops both once
/// the erasure's replacement is in the log.
/// <para>
/// Why it waits: the erasing replica records the erasure first and replaces the data after (see <see cref="EraseAnalyst"/>),
/// so the event usually arrives here before the masked data is stored. Forgetting then would let the next command fold the
/// old data again. Each listed position is masked once its stored data hashes to the digest the erasure recorded
/// (<see cref="Erasure.CurrentDataDigestsAsync"/>); the replacement changes no version and sends no notification, so this
/// is read again with a growing pause, bounded by <see cref="MaskingWait"/>. Past the bound (the erasing replica stopped
/// between its steps) the states are dropped anyway: the erasure run again records a new event, which comes here too.
/// </para>
/// Between the replacement and the forgetting, commands on this process may still decide on the old folded state (a few
/// milliseconds, a read of the digests); what they append and answer never carries an erased text (docs/audit.md).
/// </summary>
public sealed partial class ErasureFollower(MartenEventStore store, Facts facts, ILogger<ErasureFollower> logger) : BackgroundService
{
    /// <summary>How long the follower waits for an erasure's replacement before it forgets regardless.</summary>
    public static readonly TimeSpan MaskingWait = TimeSpan.FromSeconds(30);

    private static readonly EventFilter Erasures = new([EraseAnalyst.EventType]);

    /// <summary>How often the follower looks for new erasures.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A look once a second rather than a live subscription: the hub would read a page of the log for this follower
        // after every batch (a query per command when commands come one at a time), for an event that is rare. What this
        // process keeps is folded after it started: erasures before the head it starts from are already in the log.
        long? seen = null;
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                // Every position up to the head is committed or rolled back for good (global order): reading to it leaves
                // nothing behind for the next look.
                var head = await store.GetHeadPositionAsync(stoppingToken);
                if (seen is { } from && head > from)
                {
                    await foreach (var e in store.ReadAllAsync(from, Erasures, toPositionInclusive: head, cancellationToken: stoppingToken))
                    {
                        if (e.Data is AnalystErased erased) await ForgetAsync(e.Position, erased, stoppingToken);
                        seen = e.Position;
                    }
                }
                seen = head;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The next look reads again from the last position handled: no erasure is missed.
                LogFollowFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task ForgetAsync(long position, AnalystErased erased, CancellationToken ct)
    {
        var recorded = erased.Erased.ToDictionary(x => x.Position, x => x.DataDigest);
        var waited = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(10);
        while (recorded.Count > 0)
        {
            var stored = await store.CurrentDataDigestsAsync(recorded.Keys, ct);
            if (recorded.All(x => stored.TryGetValue(x.Key, out var d) && Convert.ToHexStringLower(d) == x.Value)) break;
            if (waited.Elapsed >= MaskingWait)
            {
                LogNotMasked(logger, position, MaskingWait.TotalSeconds);
                break;
            }
            await Task.Delay(pause, ct);
            pause = TimeSpan.FromMilliseconds(Math.Min(1000, pause.TotalMilliseconds * 2));
        }
        store.ForgetKeptStates();
        facts.Forget();
        LogForgotten(logger, position);
    }

    [LoggerMessage(1, LogLevel.Information, "Kept decision states and facts forgotten after the erasure at position {Position}")]
    private static partial void LogForgotten(ILogger logger, long position);

    [LoggerMessage(2, LogLevel.Warning,
        "The events the erasure at position {Position} lists were not masked within {Seconds} s; kept states forgotten regardless")]
    private static partial void LogNotMasked(ILogger logger, long position, double seconds);

    [LoggerMessage(3, LogLevel.Warning, "Reading erasures failed; the next look reads again from the last position handled")]
    private static partial void LogFollowFailed(ILogger logger, Exception exception);
}
