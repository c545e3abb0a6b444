using Annotate.Testing;

namespace Annotate.EventStore.Tests;

/// <summary>
/// A subscriber from position 0 that records every position it is given. With <c>resume</c>, a subscription that
/// fails (the database went away) is opened again after the last position seen, as a client resumes.
/// </summary>
internal sealed class Tail
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly List<long> _seen = [];
    private readonly Task _run;
    private readonly Signal _changed = new();
    private int _resumes;

    public Tail(MartenEventStore store, CancellationToken ct, bool resume = false) => _run = Task.Run(async () =>
    {
        try
        {
            while (true)
            {
                try
                {
                    await foreach (var m in store.SubscribeAsync(Last, cancellationToken: ct))
                    {
                        if (m is not SubscriptionMessage.Event e) continue;
                        lock (_seen) _seen.Add(e.Recorded.Position);
                        _changed.Pulse();
                    }
                }
                catch (Exception) when (resume && !ct.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _resumes);
                    await Task.Delay(50, ct); // the database is down: do not spin while it comes back
                }
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            _changed.Pulse();
        }
    });

    /// <summary>How often the subscription failed and was opened again.</summary>
    public int Resumes => Volatile.Read(ref _resumes);

    private long Last
    {
        get { lock (_seen) return _seen.Count == 0 ? 0 : _seen[^1]; }
    }

    /// <summary>Waits until the tail has been given <paramref name="position"/> (or a later one).</summary>
    public async Task WaitForAsync(long position, CancellationToken ct)
    {
        var reached = await _changed.WaitUntilAsync(() => Last >= position || _run.IsCompleted || ct.IsCancellationRequested, Timeout);
        if (_run.IsFaulted) await _run;
        Assert.True(reached && Last >= position, $"the tail is at {Last}, not at {position}");
    }

    public async Task<List<long>> PositionsAsync()
    {
        if (_run.IsFaulted) await _run;
        lock (_seen) return [.. _seen];
    }
}
