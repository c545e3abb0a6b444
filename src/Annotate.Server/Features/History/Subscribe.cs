using System.Runtime.CompilerServices;
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
            await foreach (var message in store.SubscribeAsync((long)r.AfterPosition, HistoryFilters.ToStore(r.Filter), ct))
            {
                switch (message)
                {
                    case SubscriptionMessage.Event { Recorded: var e }
                        when HistoryFilters.Matches(r.Filter, e) && (seesAccess || !Streams.IsAccess(e.StreamId)):
                        var shared = Shared.Of(e);
                        if (shared.MayBeHidden && (await shared.BlindnessAsync(documents)).Hides(caller.Caller)) break;
                        yield return shared.Response;
                        break;
                    case SubscriptionMessage.CaughtUp c when !caughtUp:
                        caughtUp = true; // the contract sends the marker once
                        yield return new SubscribeResponse { CaughtUpPosition = (ulong)c.Position };
                        break;
                }
            }
        }
    }

    /// <summary>
    /// What every subscriber sends for one event, made once: live events are one object shared by all subscribers (the store's
    /// hub publishes them so), and this is attached to it, so N subscribers cost one message and at most one blindness load
    /// per event, not N. The blindness is loaded after the event was committed, when the first subscriber sends it.
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

        /// <summary>
        /// The claim's blindness, loaded once for all subscribers (not cancelled by any one of them: it is one short read).
        /// </summary>
        public Task<Blindness> BlindnessAsync(IDocumentStore documents)
        {
            var current = Volatile.Read(ref _blindness);
            if (current is { IsFaulted: false, IsCanceled: false }) return current;
            // None yet, or one that failed (an outage): load it; when two subscribers race, either load is right.
            var fresh = LoadAsync(documents, e);
            Interlocked.CompareExchange(ref _blindness, fresh, current);
            return fresh;
        }

        private static async Task<Blindness> LoadAsync(IDocumentStore documents, RecordedEvent e)
        {
            await using var session = documents.QuerySession();
            var (claimId, author) = e.Data switch
            {
                TagApplied t => (t.TargetId, t.Analyst),
                TagRemoved t => (t.TargetId, t.Analyst),
                ReplyPosted or ReplyEdited or ReplyRetracted =>
                    await session.LoadAsync<Discussion.ReplyDocument>(e.StreamId["reply-".Length..], CancellationToken.None) is { } reply
                        ? (Discussion.Threads.ClaimOf(reply), reply.Author)
                        : (null, null),
                _ => (Streams.ClaimIdOf(e.StreamId), (string?)null),
            };
            if (claimId is null) return new Blindness(null, author);
            return new Blindness(await session.LoadAsync<BlindClaimDocument>(claimId, CancellationToken.None), author);
        }
    }
}
