using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;

namespace Annotate.Client.Tests;

/// <summary>
/// The resume bookkeeping alone, with a scripted stream source standing in for the connection (the reconnection
/// against a real server restart is covered end to end by the CLI's watch test).
/// </summary>
public sealed class ResumableStreamTests
{
    private static readonly RetryPolicy Backoff = new() { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(1) };

    private static SubscribeResponse Event(ulong position) => new() { Event = new HistoryEvent { Position = position } };

    private static SubscribeResponse CaughtUp(ulong position) => new() { CaughtUpPosition = position };

    /// <summary>Each opening plays the next script: its items, then (if set) a failure.</summary>
    private sealed class ScriptedSource<T>(params (T[] Items, StatusCode? FailWith)[] scripts)
    {
        private int _opened;

        public List<ulong> OpenedAfter { get; } = [];

        public async IAsyncEnumerable<T> Open(ulong after, [EnumeratorCancellation] CancellationToken ct)
        {
            OpenedAfter.Add(after);
            var (items, fail) = scripts[_opened++];
            foreach (var item in items)
            {
                await Task.Yield();
                yield return item;
            }
            if (fail is { } code) throw new RpcException(new Status(code, "connection dropped"));
        }
    }

    private static async Task<List<T>> ReadAll<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items) list.Add(item);
        return list;
    }

    [Fact]
    public async Task A_dropped_subscription_resumes_after_the_last_position_without_gap_or_duplicate()
    {
        var source = new ScriptedSource<SubscribeResponse>(
            ([Event(4), Event(5), CaughtUp(5), Event(6)], StatusCode.Unavailable),
            // The server repeats the boundary event: it must not be delivered twice.
            ([Event(6), Event(7), CaughtUp(7), Event(8)], StatusCode.Internal),
            ([Event(9)], null));

        var items = await ReadAll(ResumableStream.ReadAsync(source.Open, new EventCursor(3), Backoff, (_, _) => Task.CompletedTask));

        Assert.Equal([3UL, 6, 8], source.OpenedAfter);
        Assert.Equal([4UL, 5, 6, 7, 8, 9], items.Where(i => i.Event is not null).Select(i => i.Event.Position));
        Assert.Equal(2, items.Count(i => i.ItemCase == SubscribeResponse.ItemOneofCase.CaughtUpPosition));
    }

    [Fact]
    public async Task Consecutive_failures_without_progress_are_bounded_by_the_backoff()
    {
        var source = new ScriptedSource<SubscribeResponse>(
            ([], StatusCode.Unavailable),
            ([], StatusCode.Unavailable),
            ([], StatusCode.Unavailable),
            ([], null));

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            ReadAll(ResumableStream.ReadAsync(source.Open, new EventCursor(0), Backoff, (_, _) => Task.CompletedTask)));

        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        Assert.Equal(3, source.OpenedAfter.Count);
    }

    [Fact]
    public async Task Progress_resets_the_failure_count()
    {
        // Three drops in a row would exceed MaxAttempts 3, but each reopening delivers something new first.
        var source = new ScriptedSource<SubscribeResponse>(
            ([Event(1)], StatusCode.Unavailable),
            ([Event(2)], StatusCode.Unavailable),
            ([Event(3)], StatusCode.Unavailable),
            ([Event(4)], StatusCode.Unavailable),
            ([], null));

        var items = await ReadAll(ResumableStream.ReadAsync(source.Open, new EventCursor(0), Backoff, (_, _) => Task.CompletedTask));

        Assert.Equal([1UL, 2, 3, 4], items.Select(i => i.Event.Position));
    }

    [Theory]
    [InlineData(StatusCode.Unauthenticated)]
    [InlineData(StatusCode.PermissionDenied)]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.NotFound)]
    public async Task A_refusal_ends_the_stream_without_reopening(StatusCode code)
    {
        var source = new ScriptedSource<SubscribeResponse>(([Event(1)], code), ([Event(2)], null));

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            ReadAll(ResumableStream.ReadAsync(source.Open, new EventCursor(0), Backoff, (_, _) => Task.CompletedTask)));

        Assert.Equal(code, e.StatusCode);
        Assert.Single(source.OpenedAfter);
    }

    private static WatchArticleResponse View(string claim, ulong position) =>
        new()
        {
            View = new ClaimView { ClaimId = claim, LastPosition = position },
        };

    [Fact]
    public async Task A_rewatched_article_passes_only_views_newer_than_those_delivered()
    {
        var source = new ScriptedSource<WatchArticleResponse>(
            ([View("a", 5), View("b", 7), new() { CaughtUpPosition = 7 }, View("a", 9)], StatusCode.Unavailable),
            // Reopened: the current views again; b changed while disconnected, a did not.
            ([View("a", 9), View("b", 12), new() { CaughtUpPosition = 12 }, View("c", 13)], null));

        var items = await ReadAll(ResumableStream.ReadAsync(source.Open, new ViewCursor(), Backoff, (_, _) => Task.CompletedTask));

        Assert.Equal(
            ["a@5", "b@7", "a@9", "b@12", "c@13"],
            items.Where(i => i.View is not null).Select(i => $"{i.View.ClaimId}@{i.View.LastPosition}"));
    }
}
