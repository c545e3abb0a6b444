namespace Annotate.Domain.Events;

/// <summary>
/// Marker for every stored event. Rules for all implementations: past-tense immutable records holding ids and
/// values only (strings, numbers, enums, times, lists of such records); each is registered once in
/// <see cref="EventTypes"/> under a stable stored name ending in ".vN". A stored shape is never changed: a new
/// shape is a new record with a new version.
/// </summary>
public interface IDomainEvent;
