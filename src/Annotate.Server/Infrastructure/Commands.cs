using Annotate.Contracts.V1;
using Annotate.Domain;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Google.Protobuf.WellKnownTypes;

namespace Annotate.Server.Infrastructure;

/// <summary>A stream folded into a state, with what an append needs next.</summary>
public sealed record Loaded<TState>(TState State, long Version, long LastPosition);

/// <summary>
/// Carries out commands: load a stream, decide, append with the version it was loaded at (retrying the whole decision
/// when someone else wrote first). The views are written in the append's transaction, so the caller reads its own
/// write on any replica as soon as it has the answer. A request id already carried out returns the original result.
/// </summary>
public sealed class Commands(MartenEventStore store, CallerContext caller, TimeProvider clock)
{
    /// <summary>
    /// Attempts of one decision when others keep writing the same stream first. Writers of one stream that
    /// meet in one group commit all but one lose, so a hot stream needs several rounds; a short random pause
    /// between attempts keeps the same writers from colliding in lock-step.
    /// </summary>
    public const int MaxAttempts = 30;

    public Caller Caller => caller.Caller;

    public CommandContext Context(string? newId = null) =>
        new(caller.Caller.AnalystId, clock.GetUtcNow(), caller.Caller.Roles, newId);

    /// <summary>A decision on one stream, retried on a concurrent write. <paramref name="before"/> is folded first (e.g. a claim's opening,
    /// stored elsewhere).</summary>
    public async Task<CommandResult> RunAsync<TState>(string requestId, string streamId, string? articleId,
        TState initial, Func<TState, IDomainEvent, TState> evolve,
        Func<TState, Result<IReadOnlyList<IDomainEvent>>> decide, CancellationToken ct, IEnumerable<IDomainEvent>? before = null)
    {
        RequireRequestId(requestId);
        if (await PriorResultAsync(requestId, ct) is { } prior) return prior;
        for (var attempt = 1; ; attempt++)
        {
            var seed = before is null ? initial : before.Aggregate(initial, evolve);
            var loaded = await LoadAsync(streamId, seed, evolve, ct);
            var events = decide(loaded.State).OrThrow();
            if (events.Count == 0) return await UnchangedAsync(streamId, loaded, ct);
            try
            {
                return await AppendAsync(requestId, streamId, ExpectedVersion.Exact(loaded.Version), events, articleId, ct);
            }
            catch (WrongExpectedVersionException) when (attempt < MaxAttempts)
            {
                // Someone wrote first: decide again on the newer state.
                await BackOffAsync(attempt, ct);
            }
        }
    }

    /// <summary>A random pause growing with the attempt (up to 50 ms), so colliding writers spread out.</summary>
    public static Task BackOffAsync(int attempt, CancellationToken ct) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, Math.Min(50, 2 + 3 * attempt))), ct);

    public async Task<Loaded<TState>> LoadAsync<TState>(
        string streamId,
        TState initial,
        Func<TState, IDomainEvent, TState> evolve,
        CancellationToken ct)
    {
        var state = initial;
        var events = await store.FetchStreamAsync(streamId, ct);
        foreach (var e in events) state = evolve(state, e.Data as IDomainEvent ?? throw new InvalidOperationException($"Event {e.Position} is not a domain event."));
        return events.Count == 0 ? new Loaded<TState>(state, 0, 0) : new Loaded<TState>(state, events[^1].Version, events[^1].Position);
    }

    /// <summary>Appends a command's events (ids derived from the request id) and waits for the views.</summary>
    public async Task<CommandResult> AppendAsync(string requestId, string streamId, ExpectedVersion expected,
        IReadOnlyList<IDomainEvent> events, string? articleId, CancellationToken ct)
    {
        var actor = caller.Caller.AnalystId;
        var metadata = new EventMetadata(Actor: actor, CorrelationId: requestId, Tag: articleId);
        var data = events.Select((e, i) => EventCodec.ToEventData(e, EventCodec.EventId(actor, requestId, i), metadata)).ToList();
        var result = await store.AppendAsync(streamId, expected, data, IdempotencyKey(requestId), ct);
        // Committed, with its views (inline projections, same transaction): the result carries the receipt.
        return ResultOf(result);
    }

    /// <summary>The result of an earlier carrying-out of this request by this caller, if any.</summary>
    public async Task<CommandResult?> PriorResultAsync(string requestId, CancellationToken ct)
    {
        return await store.FindAppendAsync(IdempotencyKey(requestId), ct) is { } prior ? ResultOf(prior) : null;
    }

    /// <summary>
    /// The store's idempotency key of a request: who sent it and the client's request id, so that a retried request
    /// is answered with the original append instead of a second one, and two analysts' request ids never collide.
    /// </summary>
    private string IdempotencyKey(string requestId) => IdempotencyKeyOf(caller.Caller.AnalystId, requestId);

    /// <summary>The idempotency key of <paramref name="actor"/>'s request <paramref name="requestId"/>.</summary>
    public static string IdempotencyKeyOf(string actor, string requestId) => $"{actor}\n{requestId}";

    private static CommandResult ResultOf(AppendResult result) => new()
    {
        StreamId = result.StreamId,
        StreamVersion = result.NextExpectedVersion,
        Position = (ulong)result.LastPosition,
        ReceiptHash = result.ChainHash,
        Deduplicated = result.Deduplicated,
        RecordedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(result.RecordedAt, DateTimeKind.Utc)),
    };

    /// <summary>The result of the event at <paramref name="position"/>, as a command that wrote nothing new answers it.</summary>
    public async Task<CommandResult> ResultAtAsync(long position, CancellationToken ct)
    {
        await foreach (var e in store.ReadAllAsync(position - 1, null, 1, position, null, ct)) return ResultOf(e, deduplicated: true);
        throw new InvalidOperationException($"No event at position {position}.");
    }

    /// <summary>Whether this request was already carried out by this caller.</summary>
    public async Task<bool> WasCarriedOutAsync(string requestId, CancellationToken ct) =>
        await store.FindAppendAsync(IdempotencyKey(requestId), ct) is not null;

    public static CommandResult ResultOf(RecordedEvent e, bool deduplicated) => new()
    {
        StreamId = e.StreamId,
        StreamVersion = e.StreamVersion,
        Position = (ulong)e.Position,
        ReceiptHash = e.HashHex,
        Deduplicated = deduplicated,
        RecordedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(e.RecordedAt, DateTimeKind.Utc)),
    };

    /// <summary>A command that changed nothing ("already so"): the stream as it stands.</summary>
    private async Task<CommandResult> UnchangedAsync<TState>(string streamId, Loaded<TState> loaded, CancellationToken ct) =>
        loaded.LastPosition > 0 ? await ResultAtAsync(loaded.LastPosition, ct) : new CommandResult { StreamId = streamId, Deduplicated = true };

    /// <summary>Id of what a creating request makes, derived from its request id so a retry names the same thing.</summary>
    public string NewId(string prefix, string requestId)
    {
        RequireRequestId(requestId);
        var hash = System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes($"{prefix}\n{caller.Caller.AnalystId}\n{requestId}"));
        return prefix + Convert.ToHexStringLower(hash.AsSpan(0, 6));
    }

    public static void RequireRequestId(string requestId)
    {
        if (!Annotate.Domain.Identifiers.IsRequestId(requestId))
        {
            throw ErrorMapping.Invalid(
                $"request_id is required ({Annotate.Domain.Identifiers.RequestIdShape}), unique per action: it makes retries safe.");
        }
    }
}
