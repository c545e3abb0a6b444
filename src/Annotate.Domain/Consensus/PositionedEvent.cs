using Annotate.Domain.Events;

namespace Annotate.Domain.Consensus;

/// <summary>An event with where and when the store recorded it, given by the caller so that folds stay pure.</summary>
public sealed record PositionedEvent(long Position, DateTimeOffset RecordedAt, IDomainEvent Event);
