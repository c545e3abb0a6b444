using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

public sealed class RetryPolicyTests
{
    private static readonly RetryPolicy Policy = new()
    {
        MaxAttempts = 4,
        InitialBackoff = TimeSpan.FromMilliseconds(100),
        MaxBackoff = TimeSpan.FromMilliseconds(250),
        Multiplier = 2,
        Jitter = 0.2,
    };

    [Fact]
    public void Delays_grow_by_the_multiplier_up_to_the_cap_and_stop_after_the_last_attempt()
    {
        var delays = Enumerable.Range(1, 4).Select(n => Policy.NextDelay(n, StatusCode.Unavailable, random: 0)).ToList();

        Assert.Equal([TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(250), null], delays);
    }

    [Fact]
    public void Jitter_shortens_a_delay_by_at_most_its_share()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(80), Policy.NextDelay(1, StatusCode.Unavailable, random: 1.0));
        Assert.Equal(TimeSpan.FromMilliseconds(90), Policy.NextDelay(1, StatusCode.Unavailable, random: 0.5));
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.NotFound)]
    [InlineData(StatusCode.FailedPrecondition)]
    [InlineData(StatusCode.Aborted)]
    [InlineData(StatusCode.Unauthenticated)]
    [InlineData(StatusCode.Internal)]
    [InlineData(StatusCode.DeadlineExceeded)]
    public void Only_unavailable_is_retried(StatusCode code)
    {
        Assert.Null(Policy.NextDelay(1, code, 0));
        Assert.NotNull(Policy.NextDelay(1, StatusCode.Unavailable, 0));
    }

    [Fact]
    public async Task Execute_retries_unavailable_until_success_and_waits_the_policy_delays()
    {
        var waits = new List<TimeSpan>();
        var notices = new List<RetryNotice>();
        var calls = 0;

        var answer = await Policy.ExecuteAsync(
            (n, _) =>
                ++calls < 3
                    ? throw new RpcException(new Status(StatusCode.Unavailable, "connection refused"))
                    : Task.FromResult($"attempt {n}"),
            (d, _) =>
            {
                waits.Add(d);
                return Task.CompletedTask;
            },
            () => 0,
            CancellationToken.None,
            notices.Add);

        Assert.Equal("attempt 3", answer);
        Assert.Equal([TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200)], waits);
        Assert.Equal([1, 2], notices.Select(n => n.FailedAttempt));
    }

    [Fact]
    public async Task Execute_gives_up_after_max_attempts_with_the_last_error()
    {
        var calls = 0;

        var e = await Assert.ThrowsAsync<RpcException>(() => Policy.ExecuteAsync<string>(
            (n, _) => { calls++; throw new RpcException(new Status(StatusCode.Unavailable, $"down {n}")); },
            (_, _) => Task.CompletedTask, () => 0, CancellationToken.None));

        Assert.Equal(4, calls);
        Assert.Equal("down 4", e.Status.Detail);
    }

    [Fact]
    public async Task Execute_does_not_retry_a_refusal()
    {
        var calls = 0;

        await Assert.ThrowsAsync<RpcException>(() => Policy.ExecuteAsync<string>(
            (_, _) => { calls++; throw new RpcException(new Status(StatusCode.FailedPrecondition, "claim is adjudicated")); },
            (_, _) => Task.CompletedTask, () => 0, CancellationToken.None));

        Assert.Equal(1, calls);
    }

    [Fact]
    public void A_command_without_request_id_gets_one_that_stays_for_every_attempt()
    {
        var request = new TakeStanceRequest { ClaimId = "c1" };

        AnnotateClient.EnsureRequestId(request);
        var first = request.RequestId;
        AnnotateClient.EnsureRequestId(request);

        Assert.True(Guid.TryParse(first, out _));
        Assert.Equal(first, request.RequestId);
    }

    [Fact]
    public void A_command_keeps_the_request_id_its_caller_chose()
    {
        var request = new OpenClaimRequest { RequestId = "my-id" };

        AnnotateClient.EnsureRequestId(request);

        Assert.Equal("my-id", request.RequestId);
    }
}
