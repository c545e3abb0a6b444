using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.EventStore.Chain;
using Google.Protobuf.WellKnownTypes;
using MediatR;

namespace Annotate.Server.Features.Audit;

/// <summary>The audit chain's head in a form a desk can publish (any role: the head is public by design).</summary>
public static class GetChainHead
{
    public sealed record Query(GetChainHeadRequest Request) : IRequest<Contracts.V1.ChainHead>;

    public sealed class Handler(MartenEventStore store) : IRequestHandler<Query, Contracts.V1.ChainHead>
    {
        public async Task<Contracts.V1.ChainHead> Handle(Query query, CancellationToken ct)
        {
            var head = await store.GetChainHeadAsync(ct);
            var time = EventChain.FormatRecordedAt(head.RecordedAt);
            return new Contracts.V1.ChainHead
            {
                Position = (ulong)head.Position,
                Link = head.LinkHex,
                RecordedAt = Timestamp.FromDateTime(DateTime.SpecifyKind(head.RecordedAt, DateTimeKind.Utc)),
                Text = $"annotate-head {head.Position} {head.LinkHex} {time}",
            };
        }
    }
}
