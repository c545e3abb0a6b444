namespace Annotate.Client;

/// <summary>
/// When and how long to wait before trying a unary call again. Only UNAVAILABLE is retried (Grpc.Net.Client reports
/// refused and dropped connections as UNAVAILABLE too): the call did not reach a handler, or the server went away
/// before answering. A retried command carries the same request id, and the server dedupes by it, so a retry that
/// follows a lost answer returns the original result instead of writing the event twice. Nothing else is retried: a
/// refusal (INVALID_ARGUMENT, ABORTED, ...) would be refused again, and DEADLINE_EXCEEDED or INTERNAL may follow an
/// action the server did perform, which only the caller can judge.
/// <para>
/// Why this and not the channel's retry policy (Grpc.Net.Client's <c>ServiceConfig</c>), which would also resend the
/// same serialized request and so keep the request id: the channel counts one deadline over all attempts, where a
/// restart of the server needs each attempt to get its own; it retries a call only while its request fits the retry
/// buffer (1 MB per call by default), so a large ImportArticle would silently not be retried; it caps attempts at 5
/// unless the channel is told otherwise; and it tells the caller nothing between attempts, where the command line
/// says "server unavailable, retrying" (<see cref="RetryNotice"/>). The channel is built without a retry policy, so
/// attempts are never multiplied.
/// </para>
/// </summary>
public sealed record RetryPolicy
{
    /// <summary>About 15 s of trying in all: enough to ride out a server restart.</summary>
    public static RetryPolicy Default { get; } = new();

    /// <summary>One attempt, no retries.</summary>
    public static RetryPolicy None { get; } = new() { MaxAttempts = 1 };

    /// <summary>Attempts in all, the first included; at least 1.</summary>
    public int MaxAttempts { get; init; } = 8;

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(4);

    public double Multiplier { get; init; } = 2.0;

    /// <summary>Share of each delay drawn at random (0.2: between 80% and 100% of the nominal delay), so clients do not retry in
    /// lockstep.</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>Whether a call that failed with <paramref name="code"/> may be sent again.</summary>
    public static bool IsRetryable(StatusCode code) => code == StatusCode.Unavailable;

    /// <summary>
    /// The wait before attempt <paramref name="failedAttempts"/> + 1 after the latest one failed with
    /// <paramref name="code"/>, or null when the call must not be retried (other status, or attempts used up).
    /// <paramref name="random"/> in [0, 1) picks the jitter.
    /// </summary>
    public TimeSpan? NextDelay(int failedAttempts, StatusCode code, double random)
    {
        if (!IsRetryable(code) || failedAttempts >= MaxAttempts || failedAttempts < 1) return null;
        var nominal = InitialBackoff.TotalMilliseconds * Math.Pow(Multiplier, failedAttempts - 1);
        var capped = Math.Min(nominal, MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (1 - Jitter * random));
    }

    /// <summary>
    /// Runs <paramref name="attempt"/> until it succeeds, fails with a status that is not retried, or the attempts
    /// are used up (the last failure is thrown). <paramref name="delay"/> waits between attempts.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(Func<int, CancellationToken, Task<T>> attempt, Func<TimeSpan, CancellationToken, Task> delay,
        Func<double> random, CancellationToken cancellationToken, Action<RetryNotice>? onRetry = null)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(delay);
        ArgumentNullException.ThrowIfNull(random);
        for (var n = 1; ; n++)
        {
            try
            {
                return await attempt(n, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested && NextDelay(n, e.StatusCode, random()) is { } wait)
            {
                onRetry?.Invoke(new RetryNotice(n, MaxAttempts, wait, e));
                await delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Attempt <see cref="FailedAttempt"/> of <see cref="MaxAttempts"/> failed with <see cref="Error"/>; the next follows after <see
/// cref="Delay"/>.</summary>
public sealed record RetryNotice(int FailedAttempt, int MaxAttempts, TimeSpan Delay, RpcException Error);
