using Annotate.Domain.Consensus;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.EventStore.Order;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Marten;
using Npgsql;
using static Annotate.Server.Tests.Rpc;

namespace Annotate.Server.Tests;

/// <summary>
/// A second writer on the server's database (as a replica has), with the server's views inline, that puts two appends in
/// one group commit, or an append between a server's command's reads and its decision. Its appends carry no guard: the
/// server's span commands also guard the article's stream, which refuses them in a batch after a revision of the article,
/// but the views must not depend on that.
/// </summary>
internal sealed class SecondWriter(string connectionString) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);
    private DocumentStore? _documents;
    private MartenEventStore? _writer;

    public static List<EventData> Decided(string actor, string articleId, IReadOnlyList<IDomainEvent> events)
    {
        var requestId = Rid();
        return [.. events.Select((e, i) => EventCodec.ToEventData(e, EventCodec.EventId(actor, requestId, i),
            new EventMetadata(actor, requestId, Tag: articleId)))];
    }

    /// <summary>Appends <paramref name="first"/> and <paramref name="second"/> in one commit, in that order: the global-order
    /// lock is held while an append to <paramref name="waiting"/> (an article made blind) waits for it, so the writer takes
    /// the two queued behind it together once it is free.</summary>
    public async Task<(AppendResult First, AppendResult Second)> InOneCommitAsync(
        (string Stream, List<EventData> Events) first, (string Stream, List<EventData> Events) second, string waiting)
    {
        var writer = Writer();
        var commits = writer.Statistics.Commits;
        Task<AppendResult> before, one, two;
        await using (var holder = await _dataSource.OpenConnectionAsync())
        {
            await using var hold = await holder.BeginTransactionAsync();
            await TakeTheLockAsync(holder, hold);
            before = writer.AppendAsync(waiting, ExpectedVersion.Any,
                Decided("admin", waiting, [new ArticleMadeBlind(waiting["article-".Length..], "admin")]));
            Assert.True(await WaitingForTheLockAsync(), "the writer's first batch did not wait for the global-order lock");
            one = writer.AppendAsync(first.Stream, ExpectedVersion.Any, first.Events);
            two = writer.AppendAsync(second.Stream, ExpectedVersion.Any, second.Events);
            await hold.CommitAsync();
        }
        await before;
        var (a, b) = (await one, await two);
        Assert.Equal(a.RecordedAt, b.RecordedAt); // one clock reading per commit
        Assert.Equal(commits + 2, writer.Statistics.Commits);
        return (a, b);
    }

    /// <summary>
    /// Appends <paramref name="events"/> to <paramref name="stream"/> ahead of a command <paramref name="behind"/> sends to the
    /// server: the global-order lock is held while this append waits for it and then until the server's batch waits for it
    /// too, so the server decides that command after this append has committed (and after it read what it reads first).
    /// </summary>
    public async Task<(AppendResult Ahead, T Behind)> AheadOfAsync<T>(string stream, List<EventData> events, Func<Task<T>> behind)
    {
        var writer = Writer();
        Task<AppendResult> ahead;
        Task<T> after;
        await using (var holder = await _dataSource.OpenConnectionAsync())
        {
            await using var hold = await holder.BeginTransactionAsync();
            await TakeTheLockAsync(holder, hold);
            ahead = writer.AppendAsync(stream, ExpectedVersion.Any, events);
            Assert.True(await WaitingForTheLockAsync(), "this writer's append did not wait for the global-order lock");
            after = behind();
            Assert.True(await WaitingForTheLockAsync(2, after), "the server's batch did not wait for the global-order lock");
            await hold.CommitAsync();
        }
        return (await ahead, await after);
    }

    private static async Task TakeTheLockAsync(NpgsqlConnection holder, NpgsqlTransaction hold)
    {
        await using var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1)", holder, hold);
        take.Parameters.AddWithValue(GlobalOrder.LockKey("annotate"));
        await take.ExecuteNonQueryAsync();
    }

    private MartenEventStore Writer()
    {
        _documents ??= new DocumentStore(MartenSetup.Options(_dataSource, "annotate", ConsensusPolicy.Default));
        return _writer ??= new MartenEventStore(new EventStoreOptions { Documents = _documents, DataSource = _dataSource });
    }

    /// <summary>Waits until <paramref name="sessions"/> sessions wait for an advisory lock, or <paramref name="unless"/> ended
    /// (polled: PostgreSQL signals no lock wait).</summary>
    private async Task<bool> WaitingForTheLockAsync(int sessions = 1, Task? unless = null)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        await using var count = _dataSource.CreateCommand(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted " +
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
        while ((long)(await count.ExecuteScalarAsync())! < sessions)
        {
            if (unless is { IsCompleted: true }) return false;
            if (DateTime.UtcNow > until) return false;
            await timer.WaitForNextTickAsync();
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null) await _writer.DisposeAsync();
        _documents?.Dispose();
        await _dataSource.DisposeAsync();
    }
}
