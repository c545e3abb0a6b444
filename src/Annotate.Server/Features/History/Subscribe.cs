using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.Domain.Events;
using Annotate.EventStore;
using Annotate.Server.Features.Claims;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using Marten;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.History;

/// <summary>
/// Every event after a position (catch-up), a caught-up marker, then live events; resumable by position. Access events
/// (analysts, roles, tokens) reach auditors and admins only; every other role sees the annotation events, except the stance
/// events of claims hidden from them (<see cref="BlindClaims"/>) and others' replies and tags on those claims, judged when
/// each event is sent.
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
                        if (await HiddenAsync(e, ct)) break;
                        yield return new SubscribeResponse { Event = Mapping.ToProto(e) };
                        break;
                    case SubscriptionMessage.CaughtUp c when !caughtUp:
                        caughtUp = true; // the contract sends the marker once
                        yield return new SubscribeResponse { CaughtUpPosition = (ulong)c.Position };
                        break;
                }
            }
        }

        /// <summary>Whether the event tells how someone stood on a claim the caller may not see yet.</summary>
        private async Task<bool> HiddenAsync(Annotate.EventStore.RecordedEvent e, CancellationToken ct)
        {
            await using var session = documents.QuerySession();
            switch (e.Data)
            {
                case StanceTaken or StanceWithdrawn or ClaimAdjudicated or ClaimReopened when Streams.ClaimIdOf(e.StreamId) is { } claimId:
                    return await BlindClaims.HiddenFromAsync(session, claimId, caller.Caller, ct);
                case TagApplied { TargetKind: TagTargetKind.Claim } t:
                    return await BlindClaims.HidesAsync(session, t.TargetId, t.Analyst, caller.Caller, ct);
                case TagRemoved { TargetKind: TagTargetKind.Claim } t:
                    return await BlindClaims.HidesAsync(session, t.TargetId, t.Analyst, caller.Caller, ct);
                case ReplyPosted or ReplyEdited or ReplyRetracted:
                    var reply = await session.LoadAsync<Discussion.ReplyDocument>(e.StreamId["reply-".Length..], ct);
                    return reply is not null && await BlindClaims.HidesAsync(session, Discussion.Threads.ClaimOf(reply), reply.Author, caller.Caller, ct);
                default:
                    return false;
            }
        }
    }
}
