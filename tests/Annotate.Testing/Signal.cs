namespace Annotate.Testing;

/// <summary>
/// Wakes waiters when something they watch may have changed (an output line, a message received, a handler
/// ending), so a test checks its condition at the moments it can become true instead of sleeping between checks.
/// </summary>
public sealed class Signal
{
    private TaskCompletionSource _next = NewSource();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Something changed: every waiter checks its condition again.</summary>
    public void Pulse() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    /// <summary>Waits until <paramref name="condition"/> holds, checking it after each pulse; false if <paramref name="timeout"/> passes
    /// first.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var next = Volatile.Read(ref _next).Task; // taken before the check, so a pulse in between is not lost
            if (condition()) return true;
            try
            {
                await next.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                return condition();
            }
        }
    }
}
