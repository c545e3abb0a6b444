using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.Server.Infrastructure;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.History;

/// <summary>
/// Every event after a position (catch-up), a caught-up marker, then live events; resumable by position. Access events
/// (analysts, roles, tokens) reach auditors and admins only; every other role sees the annotation events.
/// </summary>
public static class Subscribe
{
    public sealed record Query(SubscribeRequest Request) : IRequest<IAsyncEnumerable<SubscribeResponse>>;

    public sealed class Handler(MartenEventStore store, CallerContext caller)
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
                        yield return new SubscribeResponse { Event = Mapping.ToProto(e) };
                        break;
                    case SubscriptionMessage.CaughtUp c when !caughtUp:
                        caughtUp = true; // the contract sends the marker once
                        yield return new SubscribeResponse { CaughtUpPosition = (ulong)c.Position };
                        break;
                }
            }
        }
    }
}
