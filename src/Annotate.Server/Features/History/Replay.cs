using System.Runtime.CompilerServices;
using Annotate.Contracts.V1;
using Annotate.EventStore;
using Annotate.Server.Hosting;
using Annotate.Server.Infrastructure;
using MediatR;
using Role = Annotate.Domain.Events.Role;

namespace Annotate.Server.Features.History;

/// <summary>The events of a range by position or time, filtered (auditor or admin).</summary>
public static class Replay
{
    public sealed record Query(ReplayRequest Request) : IRequest<IAsyncEnumerable<HistoryEvent>>;

    public sealed class Handler(ReadReplica reads) : IRequestHandler<Query, IAsyncEnumerable<HistoryEvent>>
    {
        public async Task<IAsyncEnumerable<HistoryEvent>> Handle(Query query, CancellationToken ct)
        {
            var r = query.Request;
            var store = (await reads.ViewsAsync(r.ToCase == ReplayRequest.ToOneofCase.ToPosition ? (long)r.ToPosition : 0, ct)).Store;
            var head = await store.GetHeadPositionAsync(ct);
            long after = r.FromCase == ReplayRequest.FromOneofCase.FromPosition ? Math.Max(0, (long)r.FromPosition - 1) : 0;
            DateTime? fromTime = r.FromCase == ReplayRequest.FromOneofCase.FromTime ? r.FromTime.ToDateTime() : null;
            var to = r.ToCase == ReplayRequest.ToOneofCase.ToPosition ? Math.Min((long)r.ToPosition, head) : head;
            DateTime? toTime = r.ToCase == ReplayRequest.ToOneofCase.ToTime ? r.ToTime.ToDateTime() : null;
            if (
                r.ToCase == ReplayRequest.ToOneofCase.ToPosition
                && r.FromCase == ReplayRequest.FromOneofCase.FromPosition
                && r.ToPosition < r.FromPosition)
            {
                throw ErrorMapping.Invalid($"to_position {r.ToPosition} is before from_position {r.FromPosition}.");
            }
            return Stream(store, after, fromTime, to, toTime, r.Filter, ct);
        }

        private static async IAsyncEnumerable<HistoryEvent> Stream(
            MartenEventStore store,
            long after,
            DateTime? fromTime,
            long to,
            DateTime? toTime,
            Annotate.Contracts.V1.EventFilter? filter,
            [EnumeratorCancellation] CancellationToken ct)
        {
            await foreach (var e in store.ReadAllAsync(after, HistoryFilters.ToStore(filter), long.MaxValue, to, toTime, ct))
            {
                if (fromTime is { } from && e.RecordedAt < from) continue;
                if (HistoryFilters.Matches(filter, e)) yield return Mapping.ToProto(e);
            }
        }
    }
}
