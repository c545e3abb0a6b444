using Annotate.Contracts.V1;
using Annotate.Server.Infrastructure;
using StoreFilter = Annotate.EventStore.EventFilter;

namespace Annotate.Server.Features.History;

/// <summary>The contract's event filter as the store's. A claim filter selects the claim's stream, plus its opening event.</summary>
public static class HistoryFilters
{
    public static StoreFilter ToStore(EventFilter? filter) => filter is null ? StoreFilter.All : new StoreFilter(
        Types: filter.EventTypes.Count > 0 ? filter.EventTypes.ToArray() : null,
        Tag: string.IsNullOrEmpty(filter.ArticleId) ? null : filter.ArticleId);

    /// <summary>Whether an event passes the parts of the filter the store does not apply (the claim).</summary>
    public static bool Matches(EventFilter? filter, Annotate.EventStore.RecordedEvent e) =>
        filter is null || string.IsNullOrEmpty(filter.ClaimId) || EventCodec.ClaimIdOf(e) == filter.ClaimId;
}
