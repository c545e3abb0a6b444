using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Annotate.Contracts.V1;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Claims;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Annotate.Server.Transport;
using Marten;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.History;

/// <summary>
/// Every event after a position (catch-up), a caught-up marker, then live events; resumable by position. Access events
/// (analysts, roles, tokens) reach auditors and admins only; every other role sees the annotation events, except the stance
/// events of claims hidden from them (<see cref="BlindClaims"/>) and others' replies and tags on those claims, judged when
/// the event is sent (once for all the subscribers that receive it live).
/// </summary>
public static class Subscribe
{
    public sealed record Query(SubscribeRequest Request) : IRequest<IAsyncEnumerable<SubscribeResponse>>;

    public sealed class Handler(MartenEventStore store, CallerContext caller, IDocumentStore documents)
        : IRequestHandler<Query, IAsyncEnumerable<SubscribeResponse>>
    {
        public Task<IAsyncEnumerable<SubscribeResponse>> Handle(Query query, CancellationToken ct) =>
            Task.FromResult(Stream(query.Request, ct));

        private async IAsyncEnumerable<SubscribeResponse> Stream(SubscribeRequest r, [EnumeratorCancellation] CancellationToken ct)
        {
            using var live = ServerTelemetry.Subscriber("subscribe");
            var caughtUp = false;
            var seesAccess = caller.Caller.Has(Role.Auditor) || caller.Caller.Has(Role.Admin);
            // In batches as the store's hub hands them over (a live batch is one commit's events, the same objects for every
            // subscriber): the blindness of every event of a batch that may be hidden is read in one query before its first event is
            // sent, rather than one query per event on the way, which kept every subscriber waiting for each read in turn.
            var shown = new List<Shared>();
            var sent = new List<SubscribeResponse>();
            await foreach (var batch in store.SubscribeInBatchesAsync((long)r.AfterPosition, HistoryFilters.ToStore(r.Filter), ct))
            {
                shown.Clear();
                foreach (var e in batch.Events)
                {
                    if (HistoryFilters.Matches(r.Filter, e) && (seesAccess || !Streams.IsAccess(e.StreamId)))
                    {
                        shown.Add(Shared.Of(e));
                    }
                }
                var loading = Shared.LoadBlindness(documents, shown);
                sent.Clear();
                foreach (var shared in shown)
                {
                    if (shared.MayBeHidden && (await shared.BlindnessAsync(documents, loading)).Hides(caller.Caller)) continue;
                    sent.Add(shared.Response);
                }
                // A live batch's messages as runs, each written with one copy and one flush; every subscriber that sends the same
                // messages of the same batch sends the same runs. Catch-up pages go message by message (the write loop still
                // flushes a burst once): they are read by few subscribers each, and their frames would double what they hold.
                if (caughtUp) foreach (var run in SharedRuns.Of(batch.Events, sent)) yield return run;
                else foreach (var message in sent) yield return message;
                if (batch.CaughtUp && !caughtUp)
                {
                    caughtUp = true; // the contract sends the marker once
                    yield return new SubscribeResponse { CaughtUpPosition = (ulong)batch.Through };
                }
            }
        }
    }

    /// <summary>
    /// The runs (<see cref="SharedMessages.Runs{T}"/>) of a batch's messages, made once per batch and choice of its messages: the
    /// subscribers of a live batch (one list of events for all of them) differ only in what is hidden from them, so a batch has
    /// one or a few such choices, each found by its messages (the same objects for every subscriber).
    /// </summary>
    private static class SharedRuns
    {
        private static readonly ConditionalWeakTable<IReadOnlyList<RecordedEvent>, List<Made>> ByBatch = new();

        private const int MaxChoices = 8;

        private sealed record Made(SubscribeResponse[] Sent, List<SubscribeResponse> Runs);

        public static IReadOnlyList<SubscribeResponse> Of(IReadOnlyList<RecordedEvent> batch, List<SubscribeResponse> messages)
        {
            if (messages.Count <= 1) return messages;
            var made = ByBatch.GetValue(batch, static _ => []);
            lock (made)
            {
                var wanted = CollectionsMarshal.AsSpan(messages);
                foreach (var m in made)
                    if (m.Sent.AsSpan().SequenceEqual(wanted, ReferenceEqualityComparer.Instance)) return m.Runs;
                var fresh = SharedMessages.Runs(messages);
                // A batch with many choices (subscribers whose filters the store does not apply) keeps only the first few.
                if (made.Count < MaxChoices) made.Add(new Made([.. messages], fresh));
                return fresh;
            }
        }
    }

    /// <summary>
    /// What every subscriber sends for one event, made once: live events are one object shared by all subscribers (the store's
    /// hub publishes them so), and this is attached to it, so N subscribers cost one message and at most one blindness load
    /// per event, not N. The blindness is loaded after the event was committed, when the first subscriber reaches the event's
    /// batch, together with that of the batch's other events.
    /// </summary>
    private sealed class Shared(RecordedEvent e)
    {
        private static readonly ConditionalWeakTable<RecordedEvent, Shared> ByEvent = new();
        private Task<Blindness>? _blindness;

        /// <summary>The claim an event is about and who wrote it (null for a stance-like event: hidden whoever sent it).</summary>
        public sealed record Blindness(BlindClaimDocument? Claim, string? Author)
        {
            public bool Hides(Caller caller) => Author != caller.AnalystId && BlindClaims.HiddenFrom(Claim, caller);
        }

        public static Shared Of(RecordedEvent e) => ByEvent.GetValue(e, static e => new Shared(e));

        /// <summary>The message every subscriber that sees the event sends, serialized once (<see cref="SharedMessages"/>); one
        /// to whom the event is hidden sends nothing, so all that send it send the same bytes.</summary>
        public SubscribeResponse Response { get; } = SharedMessages.Share(new SubscribeResponse { Event = Mapping.ToProto(e) });

        /// <summary>Whether the event tells how someone stood on a claim, or is someone's tag or reply on one: hidden from whom the
        /// claim is hidden (<see cref="BlindClaims"/>), except their own tags and replies.</summary>
        public bool MayBeHidden { get; } = e.Data switch
        {
            StanceTaken or StanceWithdrawn or ClaimAdjudicated or ClaimReopened => Streams.ClaimIdOf(e.StreamId) is not null,
            TagApplied { TargetKind: TagTargetKind.Claim } or TagRemoved { TargetKind: TagTargetKind.Claim } => true,
            ReplyPosted or ReplyEdited or ReplyRetracted => true,
            _ => false,
        };

        public RecordedEvent Recorded { get; } = e;

        public long Position => Recorded.Position;

        /// <summary>
        /// Starts one read of the blindness of every event of <paramref name="events"/> that may be hidden and has none loaded or
        /// loading (another subscriber of the same batch may have started it already; a failed read is tried again). Not cancelled
        /// by any one subscriber: it is one short read for all of them.
        /// </summary>
        public static Task LoadBlindness(IDocumentStore documents, List<Shared> events)
        {
            List<(Shared Event, TaskCompletionSource<Blindness> Result)>? mine = null;
            foreach (var s in events)
            {
                if (!s.MayBeHidden) continue;
                var current = Volatile.Read(ref s._blindness);
                if (current is { IsFaulted: false, IsCanceled: false }) continue;
                var result = new TaskCompletionSource<Blindness>(TaskCreationOptions.RunContinuationsAsynchronously);
                if (Interlocked.CompareExchange(ref s._blindness, result.Task, current) == current) (mine ??= []).Add((s, result));
            }
            return mine is null ? Task.CompletedTask : LoadAsync(documents, mine);
        }

        /// <summary>
        /// The event's blindness, once <paramref name="loading"/> (<see cref="LoadBlindness"/> of its batch, which never throws)
        /// is done: the read that took it on, this subscriber's or another's. When that read failed (an outage), one read of its
        /// own; if that fails too, its error ends this subscriber's stream (the client resumes from its last position).
        /// </summary>
        public async Task<Blindness> BlindnessAsync(IDocumentStore documents, Task loading)
        {
            await loading;
            var current = Volatile.Read(ref _blindness)!;
            if (current.IsFaulted || current.IsCanceled)
            {
                await LoadBlindness(documents, [this]);
                current = Volatile.Read(ref _blindness)!;
            }
            return await current;
        }

        private static async Task LoadAsync(IDocumentStore documents, List<(Shared Event, TaskCompletionSource<Blindness> Result)> loads)
        {
            try
            {
                await using var session = documents.QuerySession();
                var replyIds = loads.Select(l => l.Event.Recorded)
                    .Where(e => e.Data is ReplyPosted or ReplyEdited or ReplyRetracted)
                    .Select(e => e.StreamId["reply-".Length..])
                    .Distinct(StringComparer.Ordinal)
                    .ToArray();
                var replies = replyIds.Length == 0
                    ? new Dictionary<string, Discussion.ReplyDocument>()
                    : (await session.LoadManyAsync<Discussion.ReplyDocument>(CancellationToken.None, replyIds))
                        .ToDictionary(d => d.Id, StringComparer.Ordinal);
                var about = loads.Select(l => About(l.Event.Recorded, replies)).ToList();
                var claims = await BlindClaims.LoadAsync(session, about.Where(a => a.ClaimId is not null).Select(a => a.ClaimId!),
                    CancellationToken.None);
                for (var i = 0; i < loads.Count; i++)
                {
                    var (claimId, author) = about[i];
                    loads[i].Result.TrySetResult(new Blindness(claimId is null ? null : claims.GetValueOrDefault(claimId), author));
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, result) in loads) result.TrySetException(ex);
            }
        }

        /// <summary>The claim an event is about (null: none) and who wrote it (null for a stance-like event).</summary>
        private static (string? ClaimId, string? Author) About(RecordedEvent e, Dictionary<string, Discussion.ReplyDocument> replies) =>
            e.Data switch
            {
                TagApplied t => (t.TargetId, t.Analyst),
                TagRemoved t => (t.TargetId, t.Analyst),
                ReplyPosted or ReplyEdited or ReplyRetracted =>
                    replies.TryGetValue(e.StreamId["reply-".Length..], out var reply)
                        ? (Discussion.Threads.ClaimOf(reply), reply.Author)
                        : (null, null),
                _ => (Streams.ClaimIdOf(e.StreamId), null),
            };
    }
}
