using Annotate.Contracts.V1;
using Annotate.Domain;
using Annotate.Domain.Errors;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Google.Protobuf.WellKnownTypes;

namespace Annotate.Server.Infrastructure;

/// <summary>An article's text a command resolved selectors against: its revision, and the guard that holds while the article's
/// stream is where it was when the text was read (a revision moves it).</summary>
public sealed record ResolvedText(string ArticleId, int Revision, Annotate.Domain.Anchoring.TextDocument Document, StreamGuard Guard)
{
    /// <summary>This text, if it is <paramref name="revision"/> as the client resolved its selector against (0: whichever is
    /// current); FAILED_PRECONDITION otherwise.</summary>
    public ResolvedText Expecting(uint revision) => revision == 0 || revision == Revision
        ? this
        : throw new DomainException(DomainError.FailedPrecondition(
            $"The article was revised; resolve the span again. Article {ArticleId} is at revision {Revision}, not {revision}."));
}

/// <summary>A stream folded into a state, with what an append needs next.</summary>
public sealed record Loaded<TState>(TState State, long Version, long LastPosition);

/// <summary>
/// Carries out commands. A command is one decision taken by the store's writer inside its batch, under the
/// global-order lock, on the stream's state as it stands there (<see cref="Decision{TState}"/>): commands on the same
/// stream never conflict and are never retried, a repeated request id is answered with the original result (checked
/// in the same transaction, on any replica, after a restart), and the caller's token is checked under the same lock
/// (<see cref="Authentication"/>). The views are written in the append's transaction, so the caller reads its own
/// write on any replica as soon as it has the answer.
/// </summary>
public sealed class Commands(MartenEventStore store, CallerContext caller, TimeProvider clock, Authentication authentication, Views views)
{
    public Caller Caller => caller.Caller;

    public CommandContext Context(string? newId = null) =>
        new(caller.Caller.AnalystId, clock.GetUtcNow(), caller.Caller.Roles, newId);

    /// <summary>
    /// A decision on one stream, taken in the writer's batch. <paramref name="initial"/> and <paramref name="evolve"/>
    /// fold the stream; the writer keeps folded states by stream and fold, so <paramref name="initial"/> must depend on the
    /// stream alone (a claim's opening, stored elsewhere, may be folded into it). <paramref name="decide"/> runs under the
    /// global-order lock: it must be pure and quick; a refusal it returns fails this command alone.
    /// </summary>
    public async Task<CommandResult> RunAsync<TState>(string requestId, string streamId, string? articleId,
        TState initial, Func<TState, IDomainEvent, TState> evolve,
        Func<TState, Result<IReadOnlyList<IDomainEvent>>> decide, CancellationToken ct, IReadOnlyList<ResolvedText>? resolvedOn = null)
    {
        RequireRequestId(requestId);
        var actor = caller.Caller.AnalystId;
        var metadata = new EventMetadata(Actor: actor, CorrelationId: requestId, Tag: articleId);
        var fold = FoldKey<TState>(evolve.Method);
        var texts = resolvedOn?.ToList() ?? [];
        for (var attempt = 1; ; attempt++)
        {
            var decision = new Decision<TState>(streamId, fold, initial,
                (state, data) => evolve(
                    state,
                    data as IDomainEvent ?? throw new InvalidOperationException($"A {data.GetType().Name} is not a domain event.")),
                state => ToEventData(decide(state).OrThrow(), actor, requestId, metadata))
            {
                IdempotencyKey = IdempotencyKey(requestId),
                Guard = caller.Caller.Guard,
                Preconditions = [.. texts.Select(t => t.Guard)],
            };
            try
            {
                var result = ResultOf(await store.DecideAsync(decision, ct));
                // A change of access (roles, tokens) holds on this replica for the next call at once; other replicas
                // drop their copies from the live hub, and the writer's guard covers the moment in between.
                if (Streams.IsAccess(streamId)) authentication.Forget(streamId["analyst-".Length..]);
                ForgetTextOf(streamId, articleId);
                return result;
            }
            catch (StreamGuardException moved) when (texts.FindIndex(t => t.Guard == moved.Guard) is var i and >= 0)
            {
                // The article's stream moved since its text was read. A revision moves it, and then the span would land on a
                // new text unchecked; making the article blind moves it too and leaves the text as it was. Read the stream's
                // version and the revision now: on the same revision the decision is taken again on the same text, guarded
                // at that version (nothing was appended; a revision before the next attempt is caught the same way).
                var text = texts[i];
                if (attempt < 3)
                {
                    var (now, _) = await views.TextAsync(text.ArticleId, useKept: false, ct);
                    if (now.Revision == text.Revision)
                    {
                        texts[i] = text with { Guard = now.Guard };
                        continue;
                    }
                }
                // Revised: the client resolves the span again (a retry reads the new text).
                throw new DomainException(DomainError.FailedPrecondition(
                    $"The article was revised; resolve the span again. Article {text.ArticleId} got a revision after its revision " +
                    $"{text.Revision}, which this request's span was resolved against."));
            }
            catch (StreamGuardException) when (attempt < 3)
            {
                // The caller's access stream moved since the token was checked (a revocation, a role change, another
                // token): check it again; a token that is no longer valid is refused, nothing having been appended.
                caller.Caller = await authentication.RecheckAsync(caller.Caller, ct);
            }
        }
    }

    /// <summary>The key under which the writer keeps a fold's states: the state type and the fold function (made once per
    /// fold, not per command).</summary>
    private static string FoldKey<TState>(System.Reflection.MethodInfo evolve) =>
        FoldKeys.GetOrAdd((typeof(TState), evolve),
            static k => $"{k.State.FullName}|{k.Evolve.DeclaringType?.FullName}.{k.Evolve.Name}");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(System.Type State, System.Reflection.MethodInfo Evolve),
        string> FoldKeys = new();

    private static List<EventData> ToEventData(
        IReadOnlyList<IDomainEvent> events,
        string actor,
        string requestId,
        EventMetadata metadata) =>
        events.Select((e, i) => EventCodec.ToEventData(e, EventCodec.EventId(actor, requestId, i), metadata)).ToList();

    /// <summary>A stream folded from the store (for a decision's input from another stream, read outside the writer).</summary>
    public async Task<Loaded<TState>> LoadAsync<TState>(
        string streamId,
        TState initial,
        Func<TState, IDomainEvent, TState> evolve,
        CancellationToken ct)
    {
        var state = initial;
        var events = await store.FetchStreamAsync(streamId, ct);
        foreach (var e in events)
        {
            state = evolve(
                state,
                e.Data as IDomainEvent ?? throw new InvalidOperationException($"Event {e.Position} is not a domain event."));
        }
        return events.Count == 0 ? new Loaded<TState>(state, 0, 0) : new Loaded<TState>(state, events[^1].Version, events[^1].Position);
    }

    /// <summary>Appends events decided outside the writer at an expected version (the server's own bootstrap).</summary>
    public async Task<CommandResult> AppendAsync(string requestId, string streamId, ExpectedVersion expected,
        IReadOnlyList<IDomainEvent> events, string? articleId, CancellationToken ct)
    {
        var actor = caller.Caller.AnalystId;
        var metadata = new EventMetadata(Actor: actor, CorrelationId: requestId, Tag: articleId);
        var result = await store.AppendAsync(
            streamId, expected, ToEventData(events, actor, requestId, metadata), IdempotencyKey(requestId), ct);
        ForgetTextOf(streamId, articleId);
        return ResultOf(result);
    }

    /// <summary>
    /// An append to an article's stream (a revision, an import, a blind) makes this process's kept text of it out of date:
    /// dropped, so the next span is resolved on a fresh read rather than refused first (other replicas learn it from the
    /// writer's guard, see <see cref="Views.ResolvingAsync{T}"/>).
    /// </summary>
    private void ForgetTextOf(string streamId, string? articleId)
    {
        if (articleId is not null && streamId == Streams.Article(articleId)) views.ForgetText(articleId);
    }

    /// <summary>
    /// The store's idempotency key of a request: who sent it and the client's request id, so that a retried request
    /// is answered with the original append instead of a second one, and two analysts' request ids never collide.
    /// </summary>
    private string IdempotencyKey(string requestId) => IdempotencyKeyOf(caller.Caller.AnalystId, requestId);

    /// <summary>The idempotency key of <paramref name="actor"/>'s request <paramref name="requestId"/>.</summary>
    public static string IdempotencyKeyOf(string actor, string requestId) => $"{actor}\n{requestId}";

    /// <summary>The answer of an append; a decision that changed a stream with no events yet has no position.</summary>
    private static CommandResult ResultOf(AppendResult result)
    {
        if (result.LastPosition == 0) return new CommandResult { StreamId = result.StreamId, Deduplicated = true };
        return new CommandResult
        {
            StreamId = result.StreamId,
            StreamVersion = result.NextExpectedVersion,
            Position = (ulong)result.LastPosition,
            ReceiptHash = result.ChainHash,
            Deduplicated = result.Deduplicated,
            RecordedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(result.RecordedAt, DateTimeKind.Utc)),
        };
    }

    /// <summary>The result of the event at <paramref name="position"/>, as a command that wrote nothing new answers it.</summary>
    public async Task<CommandResult> ResultAtAsync(long position, CancellationToken ct)
    {
        await foreach (var e in store.ReadAllAsync(position - 1, null, 1, position, null, ct)) return ResultOf(e, deduplicated: true);
        throw new InvalidOperationException($"No event at position {position}.");
    }

    public static CommandResult ResultOf(RecordedEvent e, bool deduplicated) => new()
    {
        StreamId = e.StreamId,
        StreamVersion = e.StreamVersion,
        Position = (ulong)e.Position,
        ReceiptHash = e.HashHex,
        Deduplicated = deduplicated,
        RecordedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(e.RecordedAt, DateTimeKind.Utc)),
    };

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
